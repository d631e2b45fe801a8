/** SHA-256 in plain JavaScript on @noble/hashes: the page's Sha256 (sha256.ts), since WebCrypto cannot hash in parts. */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from './bytes.js';
import type { Sha256Factory } from './sha256.js';

export const nobleSha256: Sha256Factory = () => {
  const hash = sha256.create();
  return {
    update: (data) => void hash.update(data),
    digestHex: () => toHex(hash.digest()),
  };
};
