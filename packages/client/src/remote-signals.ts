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

/** Feeds the peer's signals to `target` until `signal` aborts (then it rejects with the abort reason). */
export async function feedRemoteSignals(
  target: RemoteSignalTarget,
  opts: RemoteSignalOptions,
  signal: AbortSignal,
): Promise<never> {
  let described = opts.role === 'receive';
  for (;;) {
    const s = await opts.link.nextSignal(signal);
    if (s.kind === 'answer' && !described && opts.role === 'send') {
      described = true;
      await target.setRemoteDescription({ type: 'answer', sdp: s.sdp });
      opts.onAnswer?.();
    } else if ((s.kind === 'candidate' || s.kind === 'end') && described) {
      // A candidate this stack cannot use (an mDNS name it cannot resolve, IPv6 here) is no reason to give up on
      // the others.
      const candidate =
        s.kind === 'candidate'
          ? { candidate: s.candidate, sdpMid: s.sdpMid, sdpMLineIndex: s.sdpMLineIndex }
          : undefined;
      await target
        .addIceCandidate(candidate)
        .catch((err: unknown) => opts.debug?.(`candidate ignored: ${String(err)}`));
    } else {
      throw createError('PROTOCOL', `unexpected WebRTC signal '${s.kind}'`);
    }
  }
}
