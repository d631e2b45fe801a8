/** SHA-256 in plain JavaScript on @noble/hashes: the page's Sha256 (sha256.ts), since WebCrypto cannot hash in parts. */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from './bytes.js';
import type { Sha256, Sha256Factory } from './sha256.js';

export const nobleSha256: Sha256Factory = () => wrap(sha256.create());

function wrap(hash: ReturnType<typeof sha256.create>): Sha256 {
  return {
    update: (data) => void hash.update(data),
    copy: () => wrap(hash.clone()),
    digestHex: () => toHex(hash.digest()),
  };
}
