/** `-o -`: bytes straight to standard output (for a folder, its tar stream as is). No temporary, nothing to undo. */
import { createError } from '@portunus/protocol';
import { fileError } from './fs-errors.js';
import type { Sink } from './sink.js';

export function openStdoutSink(out: NodeJS.WritableStream, limit: number | undefined): Sink {
  let received = 0;
  // Write failures arrive through the callbacks below; without a listener an EPIPE 'error' event would crash.
  const ignore = (): void => {};
  out.on('error', ignore);
  const release = (): void => {
    out.removeListener('error', ignore);
  };
  return {
    async write(chunk) {
      if (limit !== undefined && received + chunk.length > limit) {
        throw createError('CORRUPT', `the sender sent more than the ${limit} bytes it offered`);
      }
      received += chunk.length;
      // Waiting for each write's callback is the backpressure, and keeps `chunk` from being read after we return.
      await new Promise<void>((resolve, reject) => {
        out.write(chunk, (err) => (err ? reject(fileError(err, 'write to', 'standard output')) : resolve()));
      });
    },
    async commit() {
      release();
      if (limit !== undefined && received !== limit) {
        throw createError('CORRUPT', `the stream ended after ${received} of the ${limit} bytes offered`);
      }
      return '-';
    },
    async abort() {
      release();
    },
  };
}
