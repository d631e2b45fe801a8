/**
 * After the descriptions, the rest of a WebRTC negotiation is the same for every stack (PROTOCOL.md §6.4): the
 * offering side takes the peer's answer once, then both feed the peer's candidates (and its `end`) to the stack
 * until the attempt is over. werift's RTCPeerConnection and the W3C one (the page's) both take them this way.
 */
import { createError, type Role } from '@portunus/protocol';
import type { SignalLink } from './path-signals.js';

/** What a WebRTC stack takes from the peer's signals. */
export interface RemoteSignalTarget {
  setRemoteDescription(description: { type: 'answer'; sdp: string }): Promise<void>;
  addIceCandidate(candidate?: { candidate: string; sdpMid: string; sdpMLineIndex: number }): Promise<void>;
}

export interface RemoteSignalOptions {
  role: Role;
  link: SignalLink;
  debug?: ((message: string) => void) | undefined;
  /** Called once the offering side has the answer. */
  onAnswer?: () => void;
}

/**
 * Feeds the peer's signals to `target` until `signal` aborts (then it rejects with the abort reason).
 *
 * Candidates are handed over without waiting for each other: a stack may take seconds over one (werift asks the
 * network for a browser's mDNS name and gives up after 10 s), and the candidates behind it (a STUN or TURN address,
 * the one that works across networks) must not wait past the attempt's few seconds. `end` waits for the candidates
 * before it, so the stack never hears "no more" while one is still on its way in. MAX_PEER_SIGNALS bounds how many
 * are pending.
 */
export async function feedRemoteSignals(
  target: RemoteSignalTarget,
  opts: RemoteSignalOptions,
  signal: AbortSignal,
): Promise<never> {
  let described = opts.role === 'receive';
  const pending: Promise<void>[] = [];
  for (;;) {
    const s = await opts.link.nextSignal(signal);
    if (s.kind === 'answer' && !described && opts.role === 'send') {
      described = true;
      await target.setRemoteDescription({ type: 'answer', sdp: s.sdp });
      opts.onAnswer?.();
    } else if (s.kind === 'candidate' && described) {
      // A candidate this stack cannot use (an mDNS name it cannot resolve, IPv6 here) is no reason to give up on
      // the others.
      const candidate = { candidate: s.candidate, sdpMid: s.sdpMid, sdpMLineIndex: s.sdpMLineIndex };
      pending.push(target.addIceCandidate(candidate).catch((err: unknown) => ignored(opts, err)));
    } else if (s.kind === 'end' && described) {
      const before = pending.splice(0);
      void Promise.all(before).then(() =>
        signal.aborted ? undefined : target.addIceCandidate().catch((err: unknown) => ignored(opts, err)),
      );
    } else {
      throw createError('PROTOCOL', `unexpected WebRTC signal '${s.kind}'`);
    }
  }
}

function ignored(opts: RemoteSignalOptions, err: unknown): void {
  opts.debug?.(`candidate ignored: ${String(err)}`);
}
