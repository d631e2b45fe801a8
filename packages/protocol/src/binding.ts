/**
 * Binds a direct (WebRTC) connection to the PAKE session (PROTOCOL.md §6.4, "Binding"). The first message
 * each side sends on the data channel is
 *
 *   mac_R = HMAC-SHA-256(binding, lv_cat("portunus/1 webrtc binding", R, fp_local, fp_remote))
 *
 * where R ("send" or "receive") is the sender's role, fp_local = SHA-256 of the DER certificate it presented in
 * DTLS and fp_remote = SHA-256 of the certificate it received. The receiver of the MAC recomputes it from the
 * certificate the peer ACTUALLY presented in its DTLS handshake and its own, so a man in the middle of the DTLS
 * connection (two DTLS sessions with his own certificate) is caught even if the WebRTC stack's own fingerprint
 * check had a flaw: he cannot compute a MAC without the binding key, and the honest MAC names certificates he
 * cannot present. The role inside the MAC means a MAC reflected back to its author never verifies.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { constantTimeEqual, utf8 } from './bytes.js';
import { lvCat } from './cpace.js';
import { createError } from './errors.js';
import type { Key } from './keys.js';
import type { Role } from './peer-messages.js';
import { PROTOCOL_LABEL } from './version.js';

/** A certificate fingerprint here is always SHA-256 of the DER encoding. */
export const FINGERPRINT_BYTES = 32;
export const BINDING_MAC_BYTES = 32;
export const BINDING_LABEL = `${PROTOCOL_LABEL} webrtc binding`;

function bindingInput(role: Role, local: Uint8Array, remote: Uint8Array): Uint8Array {
  if (local.length !== FINGERPRINT_BYTES || remote.length !== FINGERPRINT_BYTES) {
    throw createError('INTERNAL', `a certificate fingerprint must be ${FINGERPRINT_BYTES} bytes`);
  }
  return lvCat(utf8(BINDING_LABEL), utf8(role), local, remote);
}

/** The MAC the side with `role` sends: its own certificate's fingerprint first, then the one it saw. */
export function bindingMac(key: Key<'binding'>, role: Role, local: Uint8Array, remote: Uint8Array): Uint8Array {
  return hmac(sha256, key, bindingInput(role, local, remote));
}

/**
 * Constant-time check of the peer's MAC. `peerCertificate` is the fingerprint of the certificate the peer presented
 * in DTLS, `ownCertificate` the fingerprint of ours.
 */
export function checkBindingMac(
  key: Key<'binding'>,
  peerRole: Role,
  peerCertificate: Uint8Array,
  ownCertificate: Uint8Array,
  mac: Uint8Array,
): boolean {
  return constantTimeEqual(bindingMac(key, peerRole, peerCertificate, ownCertificate), mac);
}

/** Each end of a direct TCP connection sends this many fresh random bytes first (PROTOCOL.md §6.3). */
export const TCP_NONCE_BYTES = 16;
export const TCP_BINDING_LABEL = `${PROTOCOL_LABEL} tcp binding`;

/**
 * The MAC the side with `role` sends on a direct TCP connection, after both nonces were exchanged:
 *
 *   mac_R = HMAC-SHA-256(binding, lv_cat("portunus/1 tcp binding", R, nonce_dialer, nonce_listener))
 *
 * Without the binding key nobody can compute it, so a stranger who connects to an announced port is refused; the
 * fresh nonce of the verifying side makes a MAC recorded on another connection useless, and the role R makes a MAC
 * reflected back to its author fail.
 */
export function tcpBindingMac(
  key: Key<'binding'>,
  role: Role,
  dialerNonce: Uint8Array,
  listenerNonce: Uint8Array,
): Uint8Array {
  if (dialerNonce.length !== TCP_NONCE_BYTES || listenerNonce.length !== TCP_NONCE_BYTES) {
    throw createError('INTERNAL', `a TCP connection nonce must be ${TCP_NONCE_BYTES} bytes`);
  }
  return hmac(sha256, key, lvCat(utf8(TCP_BINDING_LABEL), utf8(role), dialerNonce, listenerNonce));
}

/** Constant-time check of the MAC the peer (role `peerRole`) sent on this TCP connection. */
export function checkTcpBindingMac(
  key: Key<'binding'>,
  peerRole: Role,
  dialerNonce: Uint8Array,
  listenerNonce: Uint8Array,
  mac: Uint8Array,
): boolean {
  return constantTimeEqual(tcpBindingMac(key, peerRole, dialerNonce, listenerNonce), mac);
}
