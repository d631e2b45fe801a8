/**
 * The sender's stored bytes (PROTOCOL.md §11.2), regenerated from any stored offset: the same code, offer and data
 * always give the same bytes (counter nonces), so an upload the relay holds up to offset O continues from the data
 * record holding O without re-sending what precedes it; the source is read from that record's plaintext offset.
 */
import {
  createError,
  type Aead,
  DROP_CHUNK_BYTES,
  DropDataSealer,
  dropStoredLength,
  offerHasData,
  offerSize,
  recordAt,
  type Sha256,
} from '@portunus/protocol';
import { nodeSha256 } from '@portunus/protocol/node';
import type { Source } from '../files/source.js';

export interface StoredStream {
  /** Stored bytes from `from` to the end. */
  bytes: AsyncIterable<Uint8Array>;
  /** Plaintext bytes the stream starts after (not read from the source in this run). */
  skipped: number;
  /** The plaintext's SHA-256, complete once `bytes` has ended. */
  sha256(): string;
  /** What failed reading the source, if anything did (not the network's fault). */
  failure(): unknown;
}

export function storedLength(prologue: Uint8Array, source: Source): number {
  return dropStoredLength(prologue.length, offerHasData(source.offer) ? offerSize(source.offer) : undefined);
}

/** The stored bytes of `source` from stored offset `from`; `onPlaintext` hears the plaintext offset reached. */
export async function storedStream(
  aead: Aead,
  prologue: Uint8Array,
  source: Source,
  from: number,
  onPlaintext: (bytes: number) => void,
): Promise<StoredStream> {
  const size = offerHasData(source.offer) ? (offerSize(source.offer) ?? 0) : undefined;
  const { index, start } = recordAt(prologue.length, from);
  const first = Math.max(index, 0);
  const skipped = size === undefined ? 0 : Math.min(first * DROP_CHUNK_BYTES, size);
  // The hash after the skipped prefix (a folder's source needs this before it can go on from there).
  let hash: Sha256 = nodeSha256();
  if (skipped > 0) {
    if (source.hashPrefix === undefined) throw createError('INTERNAL', 'this source cannot resume an upload');
    hash = await source.hashPrefix(skipped, nodeSha256);
  }
  const digest: { hex: string; failure?: unknown } = { hex: '' };
  async function* generate(): AsyncGenerator<Uint8Array> {
    try {
      yield* records();
    } catch (err) {
      digest.failure = err;
      throw err;
    }
  }
  async function* records(): AsyncGenerator<Uint8Array> {
    let cut = index < 0 ? from : from - start;
    const emit = function* (piece: Uint8Array): Generator<Uint8Array> {
      if (cut >= piece.length) {
        cut -= piece.length;
        return;
      }
      yield cut > 0 ? piece.subarray(cut) : piece;
      cut = 0;
    };
    if (index < 0) yield* emit(prologue);
    if (size !== undefined) {
      const sealer = new DropDataSealer(aead, first);
      let at = skipped;
      if (size === at) yield* emit(sealer.seal(new Uint8Array(0), true));
      for await (const chunk of size === at ? [] : source.chunks(DROP_CHUNK_BYTES, skipped)) {
        hash.update(chunk);
        at += chunk.length;
        yield* emit(sealer.seal(chunk, at >= size));
        onPlaintext(at);
      }
    }
    digest.hex = hash.digestHex();
  }
  return { bytes: generate(), skipped, sha256: () => digest.hex, failure: () => digest.failure };
}
