import type { PathKind } from '@portunus/protocol';

/** How much the sender keeps sealed and unacknowledged (its retransmit window, PROTOCOL.md §5.4), per path. */

/** Frame bytes sealed but not yet acknowledged: bounds memory, and must exceed a path's bandwidth-delay product. */
export const WINDOW_BYTES = 8 * 1024 * 1024;
/**
 * The window while the relay carries the data. Its frames wait in longer queues than a direct path's (the sender's
 * socket queue 4 MiB, the relay's 1 MiB, the receiver's inbox 4 MiB, kernel buffers at each hop): with 8 MiB in
 * flight the pipe never filled, and 1 GiB through a loopback relay ran at 0.88x the speed of the build before the
 * window existed.
 */
export const RELAY_WINDOW_BYTES = 16 * 1024 * 1024;

/** How much may be in flight while a path of `kind` carries the data. */
export function windowBytesOn(kind: PathKind): number {
  return kind === 'relay' ? RELAY_WINDOW_BYTES : WINDOW_BYTES;
}
