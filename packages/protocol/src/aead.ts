/**
 * The AEAD the frame layer is built on: AES-256-GCM (NIST SP 800-38D) with 96-bit nonces and 128-bit tags, as
 * AEAD_AES_256_GCM of RFC 5116 §5.2. The frame layer supplies counter nonces and never repeats one under a key.
 * Every backend computes that one function, so they give the same bytes for the same inputs and either end of a
 * transfer may use any of them: node:crypto (aead.node.ts, the CLI), WebCrypto (aead.webcrypto.ts, a page in a
 * secure context) and @noble/ciphers (aead.noble.ts, a page without WebCrypto).
 *
 * This file is only the interface, so the protocol core stays free of any crypto backend. Two contracts:
 * - `Aead`, synchronous: what the session machine needs for its few small messages (session.ts is sans-IO and
 *   stays synchronous), and what node:crypto and noble provide.
 * - `DataAead`, whose seal and open may return promises: what the data plane accepts (FrameSealer, FrameOpener,
 *   AckSealer, AckOpener), so WebCrypto's promise-based `subtle.encrypt` fits there. Every Aead is a DataAead, and
 *   the frame layer hands a synchronous one's results back as plain values (AeadResult).
 */
import type { MaybePromise } from './maybe-promise.js';

/** Bytes of the key: AES-256. */
export const AEAD_KEY_BYTES = 32;
/** Bytes of the nonce (IV): 96 bits, the length GCM handles without hashing the IV. */
export const AEAD_NONCE_BYTES = 12;
/** Bytes of the authentication tag appended to every ciphertext: the full 128-bit GCM tag. */
export const AEAD_TAG_BYTES = 16;

/**
 * AES-256-GCM bound to one key, possibly asynchronous. Must not fail on a bad tag: `open` gives undefined.
 * The inputs must stay unchanged until the call settles (WebCrypto copies them at once; another backend may not).
 */
export interface DataAead {
  /** Gives ciphertext ‖ tag (plaintext.length + 16 bytes). */
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): MaybePromise<Uint8Array>;
  /** Gives the plaintext, or undefined when authentication fails (including when `sealed` is shorter than a tag). */
  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): MaybePromise<Uint8Array | undefined>;
  /**
   * Optional fast path for the frame layer: gives aad ‖ ciphertext ‖ tag in one allocation, exactly what
   * `concatBytes(aad, seal(nonce, aad, plaintext))` gives, but with one copy of the data instead of three
   * (the frame header is the AAD, so a sealed frame is this output).
   */
  sealWithPrefix?(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): MaybePromise<Uint8Array>;
  /**
   * Optional fast path for the frame layer: `frame` is aad.length bytes of room ‖ plaintext ‖ 16 bytes of room.
   * Writes aad ‖ ciphertext ‖ tag over it and gives it: the same bytes as `sealWithPrefix`, without allocating
   * the frame. The plaintext is gone afterwards.
   */
  sealInPlace?(nonce: Uint8Array, aad: Uint8Array, frame: Uint8Array): MaybePromise<Uint8Array>;
}

/** AES-256-GCM bound to one key, synchronous: a DataAead whose every result is a plain value. */
export interface Aead extends DataAead {
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined;
  sealWithPrefix?(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  sealInPlace?(nonce: Uint8Array, aad: Uint8Array, frame: Uint8Array): Uint8Array;
}

/** Makes an Aead for one 32-byte key (the factory copies what it needs; callers may wipe the key afterwards). */
export type AeadFactory = (key: Uint8Array) => Aead;
/** Makes a DataAead for one 32-byte key, on the same terms as AeadFactory. */
export type DataAeadFactory = (key: Uint8Array) => DataAead;

/** What the frame layer gives on AEAD `A`: a plain `T` when `A` is a synchronous Aead, else maybe a promise of it. */
export type AeadResult<A extends DataAead, T> = A extends Aead ? T : MaybePromise<T>;
