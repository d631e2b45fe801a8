/**
 * Each file's SHA-256 in a folder or bundle transfer, computed as the sender reads it and as the receiver writes
 * it: the `done` event's `files` (README "For scripts and CI"), usable as provenance. Names are the tar entry names
 * as offered (`photos/a.jpg`), whatever name the receiver finally gave the top-level entry.
 */
import { createHash, type Hash } from 'node:crypto';

export interface FileDigest {
  name: string;
  bytes: number;
  sha256: string;
}

export class Manifest {
  private readonly list: FileDigest[] = [];

  /** Hashes `data` as it passes through, and records the file once it has all passed. */
  async *hashing(name: string, data: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    const hash: Hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of data) {
      hash.update(chunk);
      bytes += chunk.length;
      yield chunk;
    }
    this.list.push({ name, bytes, sha256: hash.digest('hex') });
  }

  files(): readonly FileDigest[] {
    return this.list;
  }
}
