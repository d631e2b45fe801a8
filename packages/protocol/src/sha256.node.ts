/** SHA-256 on node:crypto (OpenSSL, with SHA-NI where the CPU has it): the CLI's Sha256 (sha256.ts). */
import { createHash, type Hash } from 'node:crypto';
import type { Sha256, Sha256Factory } from './sha256.js';

export const nodeSha256: Sha256Factory = () => wrap(createHash('sha256'));

function wrap(hash: Hash): Sha256 {
  return {
    update: (data) => void hash.update(data),
    copy: () => wrap(hash.copy()),
    digestHex: () => hash.digest('hex'),
  };
}
