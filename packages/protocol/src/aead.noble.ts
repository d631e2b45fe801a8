/**
 * AES-256-GCM in plain JavaScript on @noble/ciphers (audited, no dependencies): the page's synchronous Aead. The
 * session machine needs a synchronous one (aead.ts), which WebCrypto's promises are not, so a page always uses noble
 * for its few handshake messages; its data plane uses WebCrypto (aead.webcrypto.ts) where `crypto.subtle` exists and
 * noble where it does not: only secure contexts have it, so a page served over plain http on a LAN address has none.
 *
 * It gives the same bytes as node:crypto (aead.node.ts) for every input; test/aead.noble.test.ts checks that on the
 * frame vectors and on random inputs. Being JavaScript it is tens of times slower than OpenSSL (bench/crypto.ts on
 * 1 MiB frames, one core: about 20 MB/s seal+open against 800), enough for a page but the reason the CLI keeps
 * node:crypto.
 *
 * No fast paths (`sealWithPrefix`, `sealInPlace`): noble's GCM cannot encrypt into a caller's buffer, so each would
 * be `seal` plus a copy — what frame.ts already does without them.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG_BYTES } from './aead.js';
import type { Aead, AeadFactory } from './aead.js';
import { createError } from './errors.js';

/** noble AES-256-GCM for one key. Throws INTERNAL for a key that is not 32 bytes (a caller bug), as nodeAead does. */
export const nobleAead: AeadFactory = (key) => {
  if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_BYTES) {
    throw createError('INTERNAL', `AES-256-GCM needs a ${AEAD_KEY_BYTES}-byte key`);
  }
  // Our own copy: the caller may wipe its key once the factory returns (aead.ts). Not `key.slice()`, which shares
  // the memory when the key is a Node Buffer.
  const own = new Uint8Array(key);
  return {
    seal(nonce, aad, plaintext) {
      checkNonce(nonce);
      // A gcm() instance encrypts once (noble refuses a second encrypt under the same key and nonce), so one per call.
      return gcm(own, nonce, aad).encrypt(plaintext);
    },
    open(nonce, aad, sealed) {
      checkNonce(nonce);
      if (sealed.length < AEAD_TAG_BYTES) return undefined;
      try {
        // noble checks the tag (in constant time) before it decrypts, and throws on a mismatch.
        return gcm(own, nonce, aad).decrypt(sealed);
      } catch {
        return undefined;
      }
    },
  };
};

function checkNonce(nonce: Uint8Array): void {
  // noble accepts nonces of 8 bytes or more (hashing any but 12); the contract is exactly 96 bits, as in nodeAead.
  if (nonce.length !== AEAD_NONCE_BYTES) {
    throw createError('INTERNAL', `AES-GCM nonce must be ${AEAD_NONCE_BYTES} bytes, got ${nonce.length}`);
  }
}
