/**
 * What the peer said for the paths, waiting for the path layer: the bodies of its `signal` messages, in order, per
 * topic. The session admits at most MAX_PEER_SIGNALS per session, which bounds this inbox. Everything rejects once
 * the session is over.
 */
import { Wakeup } from './wakeup.js';

export class SignalInbox {
  private readonly bodies = new Map<string, unknown[]>();
  private readonly changes = new Wakeup();

  constructor(private readonly session: AbortSignal) {
    session.addEventListener('abort', () => this.changes.wake(), { once: true });
  }

  push(topic: string, body: unknown): void {
    const queue = this.bodies.get(topic) ?? [];
    queue.push(body);
    this.bodies.set(topic, queue);
    this.changes.wake();
  }

  async next(topic: string, abort?: AbortSignal): Promise<unknown> {
    for (;;) {
      const queue = this.bodies.get(topic);
      if (queue !== undefined && queue.length > 0) return queue.shift();
      if (this.session.aborted) throw this.session.reason;
      if (abort?.aborted) throw abort.reason;
      const woken = this.changes.next();
      const onAbort = () => this.changes.wake();
      abort?.addEventListener('abort', onAbort, { once: true });
      await woken;
      abort?.removeEventListener('abort', onAbort);
    }
  }
}
