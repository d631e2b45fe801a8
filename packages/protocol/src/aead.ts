/**
 * The AEAD the frame layer is built on: AES-256-GCM (NIST SP 800-38D) with 96-bit nonces and 128-bit tags, as
 * AEAD_AES_256_GCM of RFC 5116 §5.2. The frame layer supplies counter nonces and never repeats one under a key.
 *
 * This file is only the interface, so the protocol core stays free of any crypto backend: Node supplies
 * `nodeAead` (aead.node.ts, node:crypto); another platform supplies its own factory with the same contract
 * (it must be synchronous, so WebCrypto's promise-based `subtle.encrypt` does not fit directly).
 */

/** Bytes of the key: AES-256. */
export const AEAD_KEY_BYTES = 32;
/** Bytes of the nonce (IV): 96 bits, the length GCM handles without hashing the IV. */
export const AEAD_NONCE_BYTES = 12;
/** Bytes of the authentication tag appended to every ciphertext: the full 128-bit GCM tag. */
export const AEAD_TAG_BYTES = 16;

/** AES-256-GCM bound to one key. Implementations must not throw on a bad tag: `open` returns undefined. */
export interface Aead {
  /** Returns ciphertext ‖ tag (plaintext.length + 16 bytes). */
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Returns the plaintext, or undefined when authentication fails (including when `sealed` is shorter than a tag). */
  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined;
  /**
   * Optional fast path for the frame layer: returns aad ‖ ciphertext ‖ tag in one allocation, exactly what
   * `concatBytes(aad, seal(nonce, aad, plaintext))` returns, but with one copy of the data instead of three
   * (the frame header is the AAD, so a sealed frame is this output).
   */
  sealWithPrefix?(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /**
   * Optional fast path for the frame layer: `frame` is aad.length bytes of room ‖ plaintext ‖ 16 bytes of room.
   * Writes aad ‖ ciphertext ‖ tag over it and returns it: the same bytes as `sealWithPrefix`, without allocating
   * the frame. The plaintext is gone afterwards.
   */
  sealInPlace?(nonce: Uint8Array, aad: Uint8Array, frame: Uint8Array): Uint8Array;
}

/** Makes an Aead for one 32-byte key (the factory copies what it needs; callers may wipe the key afterwards). */
export type AeadFactory = (key: Uint8Array) => Aead;
