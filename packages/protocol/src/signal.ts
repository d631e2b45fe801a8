/**
 * WebRTC signalling between the peers (PROTOCOL.md §6.4). Signals travel only inside sealed peer messages
 * (`{"type":"signal","topic":"webrtc-v1","body":…}`), after key confirmation: the relay never sees an SDP, a DTLS
 * fingerprint or a local address. Parsers check every field's type, size and character set before anything reaches
 * a WebRTC stack, because werift's DTLS layer merges every fingerprint it is ever given (so it must only ever see
 * authenticated SDP) and its SDP parser was not written for hostile input.
 */
import { asInteger, asObject, asString } from './validate.js';

export type Signal =
  | { kind: 'offer' | 'answer'; sdp: string }
  | { kind: 'candidate'; candidate: string; sdpMid: string; sdpMLineIndex: number }
  | { kind: 'end' };

/** Largest SDP accepted (one data channel needs ~1 KiB; candidates inline would add ~100 bytes each). */
export const MAX_SDP_BYTES = 16 * 1024;
/** Largest ICE candidate line (RFC 8839 candidates are ~100 bytes; extensions stay far below this). */
export const MAX_CANDIDATE_BYTES = 512;
/**
 * WebRTC attempts in one transfer, the first included (PROTOCOL.md §6.4 "Attempts"): a path that ends mid-transfer
 * is dialled again, with a fresh peer connection, at most this many times in all. Every bound that counts signals
 * scales with it (MAX_PEER_SIGNALS).
 */
export const MAX_WEBRTC_ATTEMPTS = 3;
const MAX_MID_LENGTH = 32;
const MAX_MLINE_INDEX = 63;

/** SDP is ASCII lines (RFC 8866); anything else is refused rather than handed to a parser. */
const SDP_TEXT = /^v=0\r?\n[\x20-\x7e\r\n]*$/;
const CANDIDATE_TEXT = /^candidate:[\x20-\x7e]+$/;
const TOKEN = /^[\x21-\x7e]+$/;

/** Field by field in a fixed order, so the sealed JSON is exact and no extra property of a WebRTC object leaks. */
export function canonicalSignal(signal: Signal): Signal {
  switch (signal.kind) {
    case 'offer':
    case 'answer':
      return { kind: signal.kind, sdp: signal.sdp };
    case 'candidate':
      return {
        kind: signal.kind,
        candidate: signal.candidate,
        sdpMid: signal.sdpMid,
        sdpMLineIndex: signal.sdpMLineIndex,
      };
    case 'end':
      return { kind: signal.kind };
  }
}

/** Validates the body of a `webrtc-v1` signal; undefined when it is not an object, or any field is missing, too large or malformed. */
export function parseSignal(body: unknown): Signal | undefined {
  const o = asObject(body);
  switch (o?.kind) {
    case 'offer':
    case 'answer': {
      const sdp = asString(o.sdp, MAX_SDP_BYTES);
      return sdp !== undefined && SDP_TEXT.test(sdp) ? { kind: o.kind, sdp } : undefined;
    }
    case 'candidate': {
      const candidate = asString(o.candidate, MAX_CANDIDATE_BYTES);
      const sdpMid = asString(o.sdpMid, MAX_MID_LENGTH);
      const sdpMLineIndex = asInteger(o.sdpMLineIndex, 0, MAX_MLINE_INDEX);
      if (candidate === undefined || !CANDIDATE_TEXT.test(candidate)) return undefined;
      if (sdpMid === undefined || !TOKEN.test(sdpMid) || sdpMLineIndex === undefined) return undefined;
      return { kind: 'candidate', candidate, sdpMid, sdpMLineIndex };
    }
    case 'end':
      return { kind: 'end' };
    default:
      return undefined;
  }
}

/**
 * The body of `signal` as attempt `attempt` sends it: its fields, then `attempt` from the second attempt on (absent
 * means 0, so a first attempt's bodies are exactly those of a peer that never dials again).
 */
export function signalBody(signal: Signal, attempt: number): Signal & { attempt?: number } {
  const body = canonicalSignal(signal);
  return attempt === 0 ? body : { ...body, attempt };
}

/**
 * The attempt a `webrtc-v1` body belongs to: its `attempt`, 0 when absent; undefined when the body is not an object
 * or `attempt` is not an integer 0 … MAX_WEBRTC_ATTEMPTS − 1.
 */
export function signalAttempt(body: unknown): number | undefined {
  const o = asObject(body);
  if (o === undefined) return undefined;
  return o.attempt === undefined ? 0 : asInteger(o.attempt, 0, MAX_WEBRTC_ATTEMPTS - 1);
}
