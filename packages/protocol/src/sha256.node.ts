/** SHA-256 on node:crypto (OpenSSL, with SHA-NI where the CPU has it): the CLI's Sha256 (sha256.ts). */
import { createHash } from 'node:crypto';
import type { Sha256Factory } from './sha256.js';

export const nodeSha256: Sha256Factory = () => {
  const hash = createHash('sha256');
  return {
    update: (data) => void hash.update(data),
    digestHex: () => hash.digest('hex'),
  };
};
