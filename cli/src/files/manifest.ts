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

/** One file being hashed; `end()` records it. */
export interface FileHashing {
  update(chunk: Uint8Array): void;
  end(): void;
}

export class Manifest {
  private list: FileDigest[] = [];

  /** Hashes `data` as it passes through, and records the file once it has all passed. */
  async *hashing(name: string, data: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    const file = this.start(name);
    for await (const chunk of data) {
      file.update(chunk);
      yield chunk;
    }
    file.end();
  }

  /** A file fed by the caller; `seed`: its first bytes are already hashed (a resumed receive, tar-resume.ts). */
  start(name: string, seed?: { hash: Hash; bytes: number }): FileHashing {
    const hash = seed?.hash ?? createHash('sha256');
    let bytes = seed?.bytes ?? 0;
    return {
      update: (chunk) => {
        hash.update(chunk);
        bytes += chunk.length;
      },
      end: () => {
        this.list.push({ name, bytes, sha256: hash.digest('hex') });
      },
    };
  }

  /** A file known whole (a resumed receive found it complete on disk). */
  add(file: FileDigest): void {
    this.list.push(file);
  }

  /** Forgets every file (a resumed receive starting over). */
  clear(): void {
    this.list = [];
  }

  files(): readonly FileDigest[] {
    return this.list;
  }
}
