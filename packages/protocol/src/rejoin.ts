/**
 * Meeting again after the relay connection was lost (PROTOCOL.md §2.13): both peers of a confirmed session present
 * the same public reconnect id to the relay (`reconnect {id}`, keys.ts), the relay pairs the two connections that
 * did (`reconnected {sid}`), and then each side proves it holds the session key, in two clear messages carried in
 * relay `msg` bodies:
 *
 *   rejoin          {"type":"rejoin","nonce":"<base64url, 16 bytes>"}                fresh from the CSPRNG, each side
 *   rejoin-confirm  {"type":"rejoin-confirm","next":N,"mac":"<base64url, 32 bytes>"}  once the peer's nonce is known
 *
 *   mac_X = HMAC-SHA-256(reconnect, lv_cat("portunus/1 rejoin", X, sid, nonce_a, nonce_b, utf8(decimal N)))
 *
 * X is the session side ("a"/"b", from the first pairing) of the sender of the MAC, sid the relay's `reconnected`
 * sid, nonce_a/nonce_b the nonces of the session's side a and side b, N the index of the next sealed control
 * message this side expects from the peer (§5.7): the peer resends its sealed messages from there, since some may
 * have been lost with the old connection. Fresh nonces from both sides make every MAC new, so a replayed one fails;
 * the side letter inside keeps a MAC reflected to its author from verifying; without the key nobody (the relay
 * included) can make one.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { constantTimeEqual, fromUtf8, toBase64Url, utf8 } from './bytes.js';
import { lvCat } from './cpace.js';
import type { Key, Side } from './keys.js';
import { asBytes, asInteger, parseJsonObject } from './validate.js';
import { PROTOCOL_LABEL } from './version.js';

export const REJOIN_NONCE_BYTES = 16;
export const REJOIN_MAC_BYTES = 32;
/** Largest rejoin message body: both fit in well under this. */
export const MAX_REJOIN_BODY_BYTES = 256;

export type RejoinMessage =
  { type: 'rejoin'; nonce: Uint8Array } | { type: 'rejoin-confirm'; next: number; mac: Uint8Array };

/** Exact bytes of a rejoin message (a relay `msg` body), fields in the documented order. */
export function encodeRejoinMessage(msg: RejoinMessage): Uint8Array {
  const json =
    msg.type === 'rejoin'
      ? { type: msg.type, nonce: toBase64Url(msg.nonce) }
      : { type: msg.type, next: msg.next, mac: toBase64Url(msg.mac) };
  return utf8(JSON.stringify(json));
}

/** The rejoin message in `body`, or undefined for anything else (malformed, or another message). Never throws. */
export function parseRejoinMessage(body: Uint8Array): RejoinMessage | undefined {
  if (body.length > MAX_REJOIN_BODY_BYTES) return undefined;
  const text = fromUtf8(body);
  const o = text === undefined ? undefined : parseJsonObject(text);
  if (o?.type === 'rejoin') {
    const nonce = asBytes(o.nonce, { exact: REJOIN_NONCE_BYTES });
    return nonce === undefined ? undefined : { type: 'rejoin', nonce };
  }
  if (o?.type === 'rejoin-confirm') {
    const next = asInteger(o.next, 0, Number.MAX_SAFE_INTEGER);
    const mac = asBytes(o.mac, { exact: REJOIN_MAC_BYTES });
    return next === undefined || mac === undefined ? undefined : { type: 'rejoin-confirm', next, mac };
  }
  return undefined;
}

/** What one rejoin is bound to: the relay's sid and both sides' nonces, by session side. */
export interface RejoinTranscript {
  sid: Uint8Array;
  nonceA: Uint8Array;
  nonceB: Uint8Array;
}

/** The MAC that `side` sends, covering the transcript and the control index it expects next. */
export function rejoinMac(key: Key<'reconnect'>, side: Side, t: RejoinTranscript, next: number): Uint8Array {
  const input = lvCat(utf8(`${PROTOCOL_LABEL} rejoin`), utf8(side), t.sid, t.nonceA, t.nonceB, utf8(String(next)));
  return hmac(sha256, key, input);
}

/** Constant-time check of the MAC the peer (`peerSide`) sent with `next`. */
export function checkRejoinMac(
  key: Key<'reconnect'>,
  peerSide: Side,
  t: RejoinTranscript,
  next: number,
  mac: Uint8Array,
): boolean {
  return constantTimeEqual(rejoinMac(key, peerSide, t, next), mac);
}
