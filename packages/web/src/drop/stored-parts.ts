/**
 * A page drop's stored bytes (PROTOCOL.md §11.2) in upload parts: the prologue (magic and offer record), then the data
 * read from the picked file or the folder's tar in 1 MiB chunks, each sealed as one record, gathered into Blobs of
 * about PART_BYTES. A part is kept until the relay holds all of it, so a PATCH cut by the network sends the rest of
 * the part again without reading the file twice; memory stays at one part.
 */
import { type DataAead, DROP_CHUNK_BYTES, DropDataSealer, offerHasData, offerSize } from '@portunus/protocol';
import type { SendSource } from '../send-flow.js';

/** Stored bytes per PATCH: a few records, so progress moves often and a cut costs little. */
export const PART_BYTES = 4 * 1024 * 1024;

export interface StoredPart {
  /** Stored offset of the part's first byte. */
  start: number;
  bytes: Blob;
  /** Plaintext bytes sealed up to the part's end (the progress once the relay holds it). */
  plaintextEnd: number;
}

export async function* storedParts(
  aead: DataAead,
  prologue: Uint8Array,
  source: SendSource,
  partBytes = PART_BYTES,
): AsyncGenerator<StoredPart> {
  let pieces: Uint8Array<ArrayBuffer>[] = [prologue as Uint8Array<ArrayBuffer>];
  let gathered = prologue.length;
  let start = 0;
  let plaintext = 0;
  const take = (): StoredPart => {
    const part = { start, bytes: new Blob(pieces), plaintextEnd: plaintext };
    start += gathered;
    pieces = [];
    gathered = 0;
    return part;
  };
  if (offerHasData(source.offer)) {
    const size = offerSize(source.offer) ?? 0;
    const sealer = new DropDataSealer(aead);
    const add = (record: Uint8Array) => {
      pieces.push(record as Uint8Array<ArrayBuffer>);
      gathered += record.length;
    };
    // No data is one empty FINAL record.
    if (size === 0) add(await sealer.seal(new Uint8Array(0), true));
    for await (const chunk of size === 0 ? [] : source.chunks(DROP_CHUNK_BYTES)) {
      plaintext += chunk.length;
      add(await sealer.seal(chunk, plaintext >= size));
      if (gathered >= partBytes) yield take();
    }
  }
  if (pieces.length > 0) yield take();
}
