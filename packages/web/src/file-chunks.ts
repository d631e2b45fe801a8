/**
 * A picked file (or any Blob) as the sender's chunks: File.stream() read piece by piece, so a file of any size
 * goes out without being held in memory, re-cut to the frame size. A file that changes while it is read (another
 * length than picked) or becomes unreadable fails the transfer rather than sending something else.
 */
import { createError } from '@portunus/protocol';
import { rechunk } from '@portunus/client';

export function blobChunks(blob: Blob, chunkSize: number): AsyncIterable<Uint8Array> {
  return rechunk(readAll(blob), chunkSize);
}

async function* readAll(blob: Blob): AsyncGenerator<Uint8Array> {
  const reader = blob.stream().getReader();
  let read = 0;
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (err) {
        throw createError('FILE_ERROR', 'the file could not be read any more', { cause: err });
      }
      if (next.done) break;
      read += next.value.length;
      yield next.value;
    }
  } finally {
    reader.releaseLock();
  }
  if (read !== blob.size)
    throw createError('FILE_CHANGED', `the file changed while it was sent (${read} of ${blob.size} bytes)`);
}
