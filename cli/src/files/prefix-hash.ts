/**
 * SHA-256 of a file's first bytes, for a resume (PROTOCOL.md §4.12): the receiver hashes the partial it kept, the
 * sender the same length of its own file, and each goes on hashing the rest, so the final SHA-256 covers the whole.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Sha256, Sha256Factory } from '@portunus/protocol';
import { fileChanged } from './stable-file.js';
import { fileError } from './fs-errors.js';

const READ_BYTES = 1024 * 1024;

/** The hash after the first `bytes` of `handle` (a file shorter than that is FILE_CHANGED). */
export async function hashPrefix(
  handle: FileHandle,
  bytes: number,
  sha256: Sha256Factory,
  path: string,
): Promise<Sha256> {
  const hash = sha256();
  const buffer = new Uint8Array(Math.min(READ_BYTES, Math.max(bytes, 1)));
  let position = 0;
  while (position < bytes) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, bytes - position), position));
    } catch (err) {
      throw fileError(err, 'read', path);
    }
    if (bytesRead === 0) throw fileChanged(path, `it ended after ${position} bytes`);
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash;
}
