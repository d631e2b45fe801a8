/**
 * What the peer said about the direct paths, waiting for the connectors: its WebRTC signals (in order) and its TCP
 * hints (once). The machine admits at most MAX_PEER_SIGNALS signals and one hints message per session, which bounds
 * this inbox. Everything rejects once the session is over.
 */
import type { Signal, TcpHint } from '../protocol.js';
import { Wakeup } from '../util/wakeup.js';

export class SignalInbox {
  private readonly signals: Signal[] = [];
  private readonly changes = new Wakeup();
  private resolveHints!: (hints: TcpHint[]) => void;
  private readonly peerHintsOnce: Promise<TcpHint[]>;

  constructor(private readonly session: AbortSignal) {
    this.peerHintsOnce = new Promise<TcpHint[]>((resolve, reject) => {
      this.resolveHints = resolve;
      session.addEventListener('abort', () => reject(session.reason), { once: true });
    });
    this.peerHintsOnce.catch(() => undefined);
    session.addEventListener('abort', () => this.changes.wake(), { once: true });
  }

  signal(signal: Signal): void {
    this.signals.push(signal);
    this.changes.wake();
  }

  hints(hints: TcpHint[]): void {
    this.resolveHints(hints);
  }

  peerHints(abort?: AbortSignal): Promise<TcpHint[]> {
    if (abort === undefined) return this.peerHintsOnce;
    return new Promise<TcpHint[]>((resolve, reject) => {
      const onAbort = () => reject(abort.reason);
      if (abort.aborted) return onAbort();
      abort.addEventListener('abort', onAbort, { once: true });
      this.peerHintsOnce.then(resolve, reject).finally(() => abort.removeEventListener('abort', onAbort));
    });
  }

  async nextSignal(abort?: AbortSignal): Promise<Signal> {
    for (;;) {
      const next = this.signals.shift();
      if (next !== undefined) return next;
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
