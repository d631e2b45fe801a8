/**
 * The data path, both ends. Plaintext chunks are sealed into frames (data key of the sending side, stream 1) and
 * handed to a transport; the receiver opens each frame before a byte of it reaches the sink, so nothing
 * unauthenticated is ever written. Chunks are sealed where they lie (sealOwned): the source hands each over for good. The last frame carries FINAL: a stream that ends without it was truncated.
 */
import { createHash } from 'node:crypto';
import { createError, type FrameOpener, type FrameSealer } from '../protocol.js';
import type { Transport } from '../transport/transport.js';
import type { Digest } from './session-driver.js';

/** Stream id of the (first) data stream; 0 is the control stream. */
export const DATA_STREAM = 1;

export interface StreamProgress {
  (bytes: number): void;
}

/** Seals and sends every chunk; the last one (possibly empty) is marked FINAL. */
export async function sendStream(
  chunks: AsyncIterable<Uint8Array>,
  transport: Transport,
  sealer: FrameSealer,
  onProgress: StreamProgress,
  signal: AbortSignal,
): Promise<Digest> {
  const hash = createHash('sha256');
  let bytes = 0;
  // One chunk of lookahead, so the FINAL flag rides on the real last chunk rather than an extra empty frame.
  let pending: Uint8Array | undefined;
  for await (const chunk of chunks) {
    if (signal.aborted) throw createError('CANCELLED', 'cancelled');
    if (pending !== undefined) await transport.send(sealer.sealOwned(pending, false));
    hash.update(chunk);
    bytes += chunk.length;
    pending = chunk;
    onProgress(bytes);
  }
  await transport.send(sealer.sealOwned(pending ?? new Uint8Array(0), true));
  return { bytes, sha256: hash.digest('hex') };
}

export interface Sink {
  write(chunk: Uint8Array): Promise<void>;
}

/** Opens frames in order into the sink until FINAL; `expected` (when known) bounds and checks the total. */
export async function receiveStream(
  transport: Transport,
  opener: FrameOpener,
  sink: Sink,
  expected: number | undefined,
  onProgress: StreamProgress,
): Promise<Digest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const frame of transport.frames()) {
    const { plaintext, final } = opener.open(frame);
    bytes += plaintext.length;
    if (expected !== undefined && bytes > expected) {
      throw createError('CORRUPT', `the sender sent more than the ${expected} bytes it offered`);
    }
    hash.update(plaintext);
    await sink.write(plaintext);
    onProgress(bytes);
    if (final) {
      if (expected !== undefined && bytes !== expected) {
        throw createError('CORRUPT', `the stream ended after ${bytes} of the ${expected} bytes offered`);
      }
      return { bytes, sha256: hash.digest('hex') };
    }
  }
  throw createError('INTERRUPTED', 'the data stream ended before its final frame');
}
