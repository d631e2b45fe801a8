/**
 * AES-256-GCM on WebCrypto (`crypto.subtle`, W3C Web Cryptography API §27 "AES-GCM"): the data plane's AEAD in a
 * page served from a secure context, where the browser's native AES-GCM runs tens of times faster than JavaScript.
 * Browser-safe: it touches nothing but `globalThis.crypto`. WebCrypto's AES-GCM with a 96-bit IV, the frame header
 * as additionalData and tagLength 128 is AEAD_AES_256_GCM of RFC 5116 §5.2, like node:crypto and noble, so it gives
 * the same bytes (test/aead.webcrypto.test.ts checks that on the frame vectors and random inputs).
 *
 * WebCrypto answers with promises, so this is a DataAead (aead.ts) for FrameSealer/FrameOpener and the acks; the
 * session machine's few handshake messages stay on the synchronous noble Aead. `crypto.subtle` exists only in
 * secure contexts (https, or http on 127.0.0.1/localhost); pageDataAead picks noble where it is missing, as on a
 * page served over plain http from a LAN address.
 */
import { nobleAead } from './aead.noble.js';
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG_BYTES } from './aead.js';
import type { DataAead, DataAeadFactory } from './aead.js';
import { createError } from './errors.js';

/**
 * The part of WebCrypto's SubtleCrypto this file uses, spelled out: the package compiles both with the DOM types
 * (the page) and with Node's, which name these types differently.
 */
interface Subtle {
  importKey(
    format: 'raw',
    keyData: BufferSource,
    algorithm: { name: 'AES-GCM' },
    extractable: false,
    keyUsages: ('encrypt' | 'decrypt')[],
  ): Promise<WebKey>;
  encrypt(params: GcmParams, key: WebKey, data: BufferSource): Promise<ArrayBuffer>;
  decrypt(params: GcmParams, key: WebKey, data: BufferSource): Promise<ArrayBuffer>;
}
/** A CryptoKey: opaque here, and never extractable. */
type WebKey = object;
type BufferSource = Uint8Array<ArrayBuffer>;
interface GcmParams {
  name: 'AES-GCM';
  iv: BufferSource;
  additionalData: BufferSource;
  tagLength: number;
}

/**
 * WebCrypto AES-256-GCM for one key. The key is imported once, here, not extractable (the page's scripts cannot
 * read it back); importKey copies the bytes before it returns, so the caller may wipe its key at once. Throws
 * INTERNAL for a key that is not 32 bytes, or where `crypto.subtle` is missing.
 */
export const webCryptoAead: DataAeadFactory = (key) => {
  if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_BYTES) {
    throw createError('INTERNAL', `AES-256-GCM needs a ${AEAD_KEY_BYTES}-byte key`);
  }
  const subtle = webCryptoSubtle();
  if (subtle === undefined) {
    throw createError('INTERNAL', 'WebCrypto (crypto.subtle) is missing: the page is not in a secure context');
  }
  const imported = subtle.importKey('raw', bufferSource(key), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  // A failed import surfaces at the first seal or open; until then nothing waits on it.
  imported.catch(() => undefined);
  return new WebCryptoAead(subtle, imported);
};

/** Which AEAD the page's data plane uses, and its name for what the page shows or reports. */
export interface PageDataAead {
  backend: 'webcrypto' | 'noble';
  aead: DataAeadFactory;
}

/**
 * The page's data-plane AEAD: WebCrypto where `crypto.subtle` exists (a secure context), else @noble/ciphers. Both
 * give the same bytes, so the peer never knows which one a page used.
 */
export function pageDataAead(): PageDataAead {
  return webCryptoSubtle() === undefined
    ? { backend: 'noble', aead: nobleAead }
    : { backend: 'webcrypto', aead: webCryptoAead };
}

function webCryptoSubtle(): Subtle | undefined {
  return (globalThis as { crypto?: { subtle?: Subtle } }).crypto?.subtle;
}

class WebCryptoAead implements DataAead {
  readonly #subtle: Subtle;
  readonly #key: Promise<WebKey>;

  constructor(subtle: Subtle, key: Promise<WebKey>) {
    this.#subtle = subtle;
    this.#key = key;
  }

  async seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    const params = gcmParams(nonce, aad);
    // encrypt() copies its inputs before it returns (WebCrypto §14.3.1), so the caller's buffers are free at once.
    return new Uint8Array(await this.#subtle.encrypt(params, await this.#key, bufferSource(plaintext)));
  }

  async open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array | undefined> {
    const params = gcmParams(nonce, aad);
    if (sealed.length < AEAD_TAG_BYTES) return undefined;
    try {
      return new Uint8Array(await this.#subtle.decrypt(params, await this.#key, bufferSource(sealed)));
    } catch (err) {
      // A bad tag is an OperationError (WebCrypto §27.4 decrypt, step 6); anything else is not the peer's doing.
      if ((err as { name?: unknown } | null)?.name === 'OperationError') return undefined;
      throw err;
    }
  }
}

function gcmParams(nonce: Uint8Array, aad: Uint8Array): GcmParams {
  // WebCrypto takes any IV length (hashing all but 12 bytes); the contract is exactly 96 bits, as in nodeAead.
  if (nonce.length !== AEAD_NONCE_BYTES) {
    throw createError('INTERNAL', `AES-GCM nonce must be ${AEAD_NONCE_BYTES} bytes, got ${nonce.length}`);
  }
  return { name: 'AES-GCM', iv: bufferSource(nonce), additionalData: bufferSource(aad), tagLength: AEAD_TAG_BYTES * 8 };
}

/**
 * The bytes as WebCrypto's BufferSource, which excludes views of a SharedArrayBuffer (WebIDL, no [AllowShared]):
 * WebCrypto throws a TypeError for one. Frames and keys are never shared memory, so this only narrows the type.
 */
function bufferSource(bytes: Uint8Array): BufferSource {
  return bytes as BufferSource;
}
