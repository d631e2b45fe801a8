/**
 * Lets Node exit while `timer` is pending (a watchdog must not keep a finished process alive); browsers' timers
 * have no such notion, so there it does nothing.
 */
export function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
