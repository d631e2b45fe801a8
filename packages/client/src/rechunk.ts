/** Re-cuts a byte stream into chunks of exactly `chunkSize` bytes (the last one shorter, never empty). */
import { createError, MAX_FRAME_PLAINTEXT } from '@portunus/protocol';
import { framePool } from './frame-pool.js';

/** Frames carry at most 16 MiB of plaintext; anything larger is a caller bug. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;

export function checkChunkSize(chunkSize: number): void {
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw createError('INTERNAL', `chunk size ${chunkSize} is not between 1 and ${MAX_CHUNK_SIZE}`);
  }
}

/**
 * A chunk of `length` bytes for the caller to fill, with room for its frame around it when it fits one (see
 * allocFramePlaintext): the sender then seals it where it lies instead of allocating the frame. Its bytes are
 * unspecified: it may be an acknowledged frame's memory, used again (frame-pool.ts).
 */
export function allocChunk(length: number): Uint8Array {
  return length <= MAX_FRAME_PLAINTEXT ? framePool.take(length) : new Uint8Array(length);
}

/**
 * Every yielded chunk is a fresh buffer the consumer may keep: the input pieces are copied, so a source that
 * reuses its buffers cannot change data already handed on.
 */
export async function* rechunk(source: AsyncIterable<Uint8Array>, chunkSize: number): AsyncGenerator<Uint8Array> {
  checkChunkSize(chunkSize);
  let current = allocChunk(chunkSize);
  let filled = 0;
  for await (const piece of source) {
    let offset = 0;
    while (offset < piece.length) {
      const n = Math.min(chunkSize - filled, piece.length - offset);
      current.set(piece.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === chunkSize) {
        yield current;
        current = allocChunk(chunkSize);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield current.subarray(0, filled);
}
