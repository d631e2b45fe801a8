/**
 * AES-256-GCM on node:crypto (OpenSSL): the Aead of the Node CLI and relay tests. Node-only by design — the one
 * `*.node.ts` exception in the protocol core; browsers supply their own AeadFactory (aead.ts).
 *
 * Speed matters here (every data byte passes through it), so the hot paths copy each byte at most once:
 * node:crypto cannot encrypt into a caller's buffer, so `sealWithPrefix` copies the `update()` output into the
 * one frame allocation, and `open` returns the `update()` output itself. bench/crypto.ts measures both.
 */
import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG_BYTES } from './aead.js';
import type { Aead, AeadFactory } from './aead.js';
import { createError } from './errors.js';

const ALGORITHM = 'aes-256-gcm';

/** node:crypto AES-256-GCM for one key. Throws INTERNAL for a key that is not 32 bytes (a caller bug). */
export const nodeAead: AeadFactory = (key) => {
  if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_BYTES) {
    throw createError('INTERNAL', `AES-256-GCM needs a ${AEAD_KEY_BYTES}-byte key`);
  }
  // A KeyObject keeps its own copy, outside the JS heap, and saves re-importing the key for every frame.
  return new NodeAead(createSecretKey(key));
};

class NodeAead implements Aead {
  readonly #key: KeyObject;

  constructor(key: KeyObject) {
    this.#key = key;
  }

  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    return this.#sealAfter(nonce, aad, plaintext, 0);
  }

  sealWithPrefix(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const out = this.#sealAfter(nonce, aad, plaintext, aad.length);
    out.set(aad, 0);
    return out;
  }

  sealInPlace(nonce: Uint8Array, aad: Uint8Array, frame: Uint8Array): Uint8Array {
    checkNonce(nonce);
    const bodyEnd = frame.length - AEAD_TAG_BYTES;
    if (bodyEnd < aad.length)
      throw createError('INTERNAL', 'sealInPlace: the frame has no room for the AAD and the tag');
    const cipher = createCipheriv(ALGORITHM, this.#key, nonce, { authTagLength: AEAD_TAG_BYTES });
    cipher.setAAD(aad);
    // update() returns a new buffer whatever we pass it; copying that back over the plaintext is the one copy.
    const body = cipher.update(frame.subarray(aad.length, bodyEnd));
    frame.set(body, aad.length);
    const tail = cipher.final();
    frame.set(tail, aad.length + body.length);
    frame.set(cipher.getAuthTag(), bodyEnd);
    frame.set(aad, 0);
    return frame;
  }

  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
    checkNonce(nonce);
    if (sealed.length < AEAD_TAG_BYTES) return undefined;
    const bodyEnd = sealed.length - AEAD_TAG_BYTES;
    const decipher = createDecipheriv(ALGORITHM, this.#key, nonce, { authTagLength: AEAD_TAG_BYTES });
    decipher.setAAD(aad);
    // The tag goes in before final(), which compares it (in constant time, inside OpenSSL) and throws on mismatch.
    decipher.setAuthTag(sealed.subarray(bodyEnd));
    const body = decipher.update(sealed.subarray(0, bodyEnd));
    let tail: Buffer;
    try {
      tail = decipher.final();
    } catch {
      return undefined;
    }
    // GCM is a stream mode: update() has returned every byte and final() returns none.
    const plaintext = tail.length === 0 ? body : Buffer.concat([body, tail]);
    return plainView(plaintext);
  }

  /** Returns a fresh buffer of `prefixLength` unwritten bytes ‖ ciphertext ‖ tag. */
  #sealAfter(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, prefixLength: number): Uint8Array {
    checkNonce(nonce);
    const cipher = createCipheriv(ALGORITHM, this.#key, nonce, { authTagLength: AEAD_TAG_BYTES });
    cipher.setAAD(aad);
    // Not from Buffer's shared pool: the frame's ArrayBuffer then holds this frame and nothing else, so code that
    // sends `frame.buffer` cannot leak a neighbour's bytes. Every byte is written below.
    const out = Buffer.allocUnsafeSlow(prefixLength + plaintext.length + AEAD_TAG_BYTES);
    let offset = prefixLength;
    offset += copyInto(out, cipher.update(plaintext), offset);
    offset += copyInto(out, cipher.final(), offset);
    copyInto(out, cipher.getAuthTag(), offset);
    return plainView(out);
  }
}

function checkNonce(nonce: Uint8Array): void {
  // GCM accepts any IV length (hashing long ones); the contract is exactly 96 bits, so anything else is a bug.
  if (nonce.length !== AEAD_NONCE_BYTES) {
    throw createError('INTERNAL', `AES-GCM nonce must be ${AEAD_NONCE_BYTES} bytes, got ${nonce.length}`);
  }
}

function copyInto(out: Buffer, part: Buffer, offset: number): number {
  out.set(part, offset);
  return part.length;
}

/**
 * The same memory as a plain Uint8Array, so Buffer's different semantics (`slice` shares memory, `toString`
 * decodes) never reach the browser-safe code that consumes it.
 */
function plainView(bytes: Buffer): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
