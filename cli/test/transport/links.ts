/**
 * Two path-signalling links wired back to back in memory, as the session would provide them over the relay: signals
 * and hints arrive in order. `tap` sees (and may rewrite or drop) every WebRTC signal in flight.
 */
import type { Signal, TcpHint } from '@portunus/protocol';
import type { HintExchange, SignalLink } from '@portunus/client';

export type Tap = (from: 'send' | 'receive', signal: Signal) => Signal | undefined;

class Inbox {
  readonly signals: Signal[] = [];
  private readonly waiters = new Set<() => void>();
  resolveHints!: (hints: TcpHint[]) => void;
  readonly hints = new Promise<TcpHint[]>((resolve) => (this.resolveHints = resolve));

  push(signal: Signal): void {
    this.signals.push(signal);
    for (const wake of [...this.waiters]) wake();
  }

  async next(abort?: AbortSignal): Promise<Signal> {
    for (;;) {
      const signal = this.signals.shift();
      if (signal !== undefined) return signal;
      abort?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiters.delete(done);
          abort?.removeEventListener('abort', done);
          resolve();
        };
        this.waiters.add(done);
        abort?.addEventListener('abort', done, { once: true });
      });
    }
  }
}

/** What each side's path layer sees: WebRTC signals and TCP hints. */
export type MemoryLink = SignalLink & HintExchange;

export interface LinkPair {
  send: MemoryLink;
  receive: MemoryLink;
  /** Every signal each side sent, in order (after the tap). */
  sent: { send: Signal[]; receive: Signal[] };
}

export function memoryLinks(opts: { tap?: Tap } = {}): LinkPair {
  const inboxes = { send: new Inbox(), receive: new Inbox() };
  const sent: LinkPair['sent'] = { send: [], receive: [] };
  const link = (self: 'send' | 'receive'): MemoryLink => {
    const peer = self === 'send' ? 'receive' : 'send';
    return {
      sendSignal: async (signal) => {
        const passed = opts.tap ? opts.tap(self, signal) : signal;
        if (passed === undefined) return;
        sent[self].push(passed);
        inboxes[peer].push(passed);
      },
      nextSignal: (abort) => inboxes[self].next(abort),
      sendHints: async (hints) => inboxes[peer].resolveHints(hints),
      peerHints: (abort) =>
        Promise.race([
          inboxes[self].hints,
          new Promise<never>((_, reject) => {
            if (abort?.aborted) reject(abort.reason);
            abort?.addEventListener('abort', () => reject(abort.reason), { once: true });
          }),
        ]),
    };
  };
  return { send: link('send'), receive: link('receive'), sent };
}
