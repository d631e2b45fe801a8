/**
 * Explicit key confirmation after CPace (draft-irtf-cfrg-cpace §10.4 recommends it; it also gives perfect forward
 * security). Each side sends
 *
 *   mac_X = HMAC-SHA-256(confirm_X, lv_cat("portunus/1 confirm", X, Ya, ADa, Yb, ADb))
 *
 * where X ("a" or "b") is the sending side. Naming the sender inside the MAC, and keying it with that sender's
 * key, means a MAC reflected back to its author never verifies. The full transcript is covered so a relay that
 * rewrote either share or either ability list is caught here, before any data flows.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { constantTimeEqual, utf8 } from './bytes.js';
import { lvCat } from './cpace.js';
import type { SessionKeys, Side } from './keys.js';
import { PROTOCOL_LABEL } from './version.js';

/** The two CPace messages as sent: side a's share and AD, side b's share and AD. */
export interface Transcript {
  ya: Uint8Array;
  ada: Uint8Array;
  yb: Uint8Array;
  adb: Uint8Array;
}

/** Length of a confirmation MAC (HMAC-SHA-256 output). */
export const CONFIRM_MAC_BYTES = 32;

function confirmInput(side: Side, t: Transcript): Uint8Array {
  return lvCat(utf8(`${PROTOCOL_LABEL} confirm`), utf8(side), t.ya, t.ada, t.yb, t.adb);
}

/** The MAC that `side` sends to prove it holds the same keys. */
export function confirmationMac(keys: SessionKeys, side: Side, t: Transcript): Uint8Array {
  return hmac(sha256, keys.confirm[side], confirmInput(side, t));
}

/** Constant-time check of the peer's MAC (peerSide = the side that sent it). */
export function checkConfirmation(keys: SessionKeys, peerSide: Side, t: Transcript, mac: Uint8Array): boolean {
  return constantTimeEqual(confirmationMac(keys, peerSide, t), mac);
}
