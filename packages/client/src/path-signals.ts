/**
 * What each direct path says to the peer while it comes up, over the session's sealed `signal` messages (topic: the
 * path's ability, PROTOCOL.md §4.1): WebRTC descriptions and candidates (§6.4), TCP hints (§6.3). The session only
 * routes them; every body is validated here, before a byte of it reaches a WebRTC stack or a dialer.
 */
import {
  ABILITY_TCP,
  ABILITY_WEBRTC,
  canonicalSignal,
  createError,
  encodeTcpHints,
  parseSignal,
  parseTcpHints,
  type Signal,
  type TcpHint,
} from '@portunus/protocol';
import type { PeerLink } from './session-hooks.js';

/** WebRTC signalling with the peer: the connectors' view of the link. */
export interface SignalLink {
  sendSignal(signal: Signal): Promise<void>;
  /** The peer's next signal; rejects when `abort` fires or the session ends, PROTOCOL for a malformed one. */
  nextSignal(abort?: AbortSignal): Promise<Signal>;
}

export function webrtcSignals(link: PeerLink): SignalLink {
  return {
    sendSignal: (signal) => link.send(ABILITY_WEBRTC, canonicalSignal(signal)),
    nextSignal: async (abort) => {
      const signal = parseSignal(await link.next(ABILITY_WEBRTC, abort));
      if (signal === undefined) throw createError('PROTOCOL', 'the peer sent a malformed WebRTC signal');
      return signal;
    },
  };
}

/** Where each side listens for a direct TCP connection: one message each way (later ones are never read). */
export interface HintExchange {
  sendHints(hints: TcpHint[]): Promise<void>;
  /** The peer's hints; rejects when `abort` fires or the session ends, PROTOCOL when malformed. */
  peerHints(abort: AbortSignal): Promise<TcpHint[]>;
}

export function tcpHints(link: PeerLink): HintExchange {
  return {
    sendHints: (hints) => link.send(ABILITY_TCP, encodeTcpHints(hints)),
    peerHints: async (abort) => {
      const hints = parseTcpHints(await link.next(ABILITY_TCP, abort));
      if (hints === undefined) throw createError('PROTOCOL', 'the peer sent malformed TCP hints');
      return hints;
    },
  };
}
