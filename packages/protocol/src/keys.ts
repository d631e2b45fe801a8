/**
 * The Portunus key schedule: every key comes from the CPace ISK through HKDF-SHA-256 (RFC 5869) with
 * salt = sid and info = "portunus/1 " + label. Keys carry their purpose in their type, so a message key cannot be
 * handed to the frame layer or the confirmation MAC by mistake.
 *
 * Direction letters name the relay side that SENDS with the key: side "a" seals with `message.a`/`data.a` and
 * side "b" opens with them.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8 } from './bytes.js';
import { CROCKFORD_ALPHABET } from './code.js';
import { createError } from './errors.js';
import { PROTOCOL_LABEL } from './version.js';

export type KeyPurpose = 'confirm' | 'message' | 'data' | 'binding' | 'reconnect' | 'drop';

/** A 32-byte key usable only for purpose P. */
export type Key<P extends KeyPurpose> = Uint8Array & { readonly __purpose: P };

/** The relay side: "a" joined the nameplate first (CPace initiator), "b" second (responder). */
export type Side = 'a' | 'b';

export interface SessionKeys {
  /** HMAC keys of the key-confirmation messages (confirm.ts), one per sending side. */
  confirm: { a: Key<'confirm'>; b: Key<'confirm'> };
  /** Keys of the encrypted peer messages relayed through the mailbox, one per sending side. */
  message: { a: Key<'message'>; b: Key<'message'> };
  /** Keys of the bulk-data frames (relay or WebRTC transport), one per sending side. */
  data: { a: Key<'data'>; b: Key<'data'> };
  /** Binds a transport to this session (for example a WebRTC DTLS fingerprint); both sides hold the same key. */
  binding: Key<'binding'>;
  /**
   * Meeting again after the relay connection was lost (PROTOCOL.md §2.13, rejoin.ts): `id` is public (both sides show
   * it to the relay), `key` proves to the peer that this side holds the session, with fresh nonces.
   */
  reconnect: { id: Uint8Array; key: Key<'reconnect'> };
  /** Short string both users may compare out of band, e.g. "7KQ2-M9XD": equal strings mean both hold one key. */
  verifier: string;
}

/** Every HKDF label, exactly as it appears after "portunus/1 " in the info string. */
export const KEY_LABELS = {
  confirmA: 'confirm a',
  confirmB: 'confirm b',
  messageA: 'message a',
  messageB: 'message b',
  dataA: 'data a',
  dataB: 'data b',
  binding: 'binding',
  verify: 'verify',
  reconnectId: 'reconnect id',
  reconnect: 'reconnect',
} as const;

export const KEY_BYTES = 32;
const ISK_BYTES = 64;

function expand(isk: Uint8Array, sid: Uint8Array, label: string): Uint8Array {
  return hkdf(sha256, isk, sid, utf8(`${PROTOCOL_LABEL} ${label}`), KEY_BYTES);
}

/**
 * Tags bytes as a key of one purpose. For test vectors and for layers that receive a key from elsewhere;
 * session keys come from deriveSessionKeys.
 */
export function asKey<P extends KeyPurpose>(_purpose: P, bytes: Uint8Array): Key<P> {
  if (bytes.length !== KEY_BYTES) throw createError('INTERNAL', `a key must be ${KEY_BYTES} bytes`);
  return bytes as Key<P>;
}

/** Derives every session key from the CPace ISK (64 bytes) and the relay-assigned sid. */
export function deriveSessionKeys(isk: Uint8Array, sid: Uint8Array): SessionKeys {
  if (isk.length !== ISK_BYTES) throw createError('INTERNAL', `ISK must be ${ISK_BYTES} bytes`);
  const key = <P extends KeyPurpose>(purpose: P, label: string): Key<P> => asKey(purpose, expand(isk, sid, label));
  return {
    confirm: { a: key('confirm', KEY_LABELS.confirmA), b: key('confirm', KEY_LABELS.confirmB) },
    message: { a: key('message', KEY_LABELS.messageA), b: key('message', KEY_LABELS.messageB) },
    data: { a: key('data', KEY_LABELS.dataA), b: key('data', KEY_LABELS.dataB) },
    binding: key('binding', KEY_LABELS.binding),
    reconnect: { id: expand(isk, sid, KEY_LABELS.reconnectId), key: key('reconnect', KEY_LABELS.reconnect) },
    verifier: formatVerifier(expand(isk, sid, KEY_LABELS.verify)),
  };
}

/**
 * The first 40 bits of `bytes`, most significant first, as 8 Crockford base32 characters "XXXX-XXXX" (the code's
 * alphabet: no I, L, O or U, so it survives being read aloud).
 */
export function formatVerifier(bytes: Uint8Array): string {
  if (bytes.length < 5) throw createError('INTERNAL', 'the verifier needs 40 bits');
  // 40 bits exceed 32-bit bitwise ops but are exact in a double.
  let bits = 0;
  for (let i = 0; i < 5; i++) bits = bits * 256 + bytes[i]!;
  let out = '';
  for (let shift = 35; shift >= 0; shift -= 5) out += CROCKFORD_ALPHABET[Math.floor(bits / 2 ** shift) % 32]!;
  return `${out.slice(0, 4)}-${out.slice(4)}`;
}

/** The keys one side seals with and the keys it opens the peer's traffic with. */
export interface DirectionalKeys {
  send: { confirm: Key<'confirm'>; message: Key<'message'>; data: Key<'data'> };
  receive: { confirm: Key<'confirm'>; message: Key<'message'>; data: Key<'data'> };
}

/** Picks the sending and receiving keys for `self`, so callers never index by the wrong letter. */
export function directionalKeys(keys: SessionKeys, self: Side): DirectionalKeys {
  const peer: Side = self === 'a' ? 'b' : 'a';
  return {
    send: { confirm: keys.confirm[self], message: keys.message[self], data: keys.data[self] },
    receive: { confirm: keys.confirm[peer], message: keys.message[peer], data: keys.data[peer] },
  };
}
