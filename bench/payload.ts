/** Benchmark payloads: random files written in blocks (incompressible, bounded memory) and their SHA-256. */
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

/** Writes `bytes` random bytes to `path`; returns their SHA-256 (hex). */
export async function makeRandomFile(path: string, bytes: number): Promise<string> {
  const fh = await open(path, 'w');
  const block = Buffer.alloc(4 * 1024 * 1024);
  const hash = createHash('sha256');
  try {
    for (let off = 0; off < bytes; off += block.length) {
      randomFillSync(block);
      const part = block.subarray(0, Math.min(block.length, bytes - off));
      hash.update(part);
      await fh.write(part);
    }
    // On disk before any clock starts: else its writeback competes with the first transfer measured (seen: the
    // relay path, measured first, at 206-221 MB/s instead of 270-290).
    await fh.sync();
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
