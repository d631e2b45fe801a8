/**
 * The bytes a drop is stored as (PROTOCOL.md §11.2), opaque to the relay:
 *
 *   magic      8 bytes   ASCII "PDROP/1\n": the format and its version
 *   records    each      u32be length ‖ one frame (§5.1) sealed with the drop key, `length` bytes
 *     record 0           stream 0, index 0, FINAL: the offer (§4.3) as UTF-8 JSON
 *     record 1 …         stream 1, index 0, 1, …: the data in 1 MiB chunks, the last one FINAL (an empty file is one
 *                        empty FINAL frame; a text offer has no data records)
 *
 * Every data record but the last has the same length, so a plaintext offset that is a multiple of 1 MiB maps to one
 * stored offset (storedOffsetOf): a download resumes there with a Range request, an upload from the relay's offset.
 * Frames are the live transfer's (counter nonces, FINAL, strict order), so a flipped, dropped, reordered or
 * truncated byte is CORRUPT; one key seals one drop and the code is fresh for every drop, so no nonce repeats.
 */
import type { Aead, AeadResult, DataAead } from './aead.js';
import { concatBytes, fromUtf8, utf8 } from './bytes.js';
import { createError, PortunusError } from './errors.js';
import { FrameOpener } from './frame-opener.js';
import { FrameSealer, frameOverhead, MAX_FRAME_BYTES, MAX_FRAME_PLAINTEXT, type StreamFrame } from './frame.js';
import { isPromise, type MaybePromise, whenReady } from './maybe-promise.js';
import { offerHasData, parseOffer, type Offer } from './offer.js';
import { CONTROL_STREAM, DATA_STREAM } from './streams.js';

export const DROP_MAGIC = utf8('PDROP/1\n');
/** Plaintext bytes per data record (the last one may be shorter). */
export const DROP_CHUNK_BYTES = MAX_FRAME_PLAINTEXT;
const LENGTH_BYTES = 4;
/** Stored bytes of one full data record. */
export const DROP_RECORD_BYTES = LENGTH_BYTES + frameOverhead + DROP_CHUNK_BYTES;

function corrupt(message: string): PortunusError {
  return createError('CORRUPT', `stored drop: ${message}`);
}

function record(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(LENGTH_BYTES + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length);
  out.set(frame, LENGTH_BYTES);
  return out;
}

/** The magic and the offer record: what every stored drop starts with. */
export function dropPrologue(aead: Aead, offer: Offer): Uint8Array {
  const frame = new FrameSealer(aead, CONTROL_STREAM).seal(utf8(JSON.stringify(offer)), true);
  return concatBytes(DROP_MAGIC, record(frame));
}

/** Data records of `size` plaintext bytes: at least one (an empty FINAL frame for no data). */
export function dropRecordCount(size: number): number {
  return Math.max(1, Math.ceil(size / DROP_CHUNK_BYTES));
}

/** Stored bytes of a drop whose prologue is `prologueBytes` long, with `size` bytes of data (undefined: text). */
export function dropStoredLength(prologueBytes: number, size: number | undefined): number {
  if (size === undefined) return prologueBytes;
  return prologueBytes + dropRecordCount(size) * (LENGTH_BYTES + frameOverhead) + size;
}

/** The stored offset of the data record holding plaintext byte `plaintextOffset` (a multiple of 1 MiB). */
export function storedOffsetOf(prologueBytes: number, plaintextOffset: number): number {
  if (!Number.isSafeInteger(plaintextOffset) || plaintextOffset < 0 || plaintextOffset % DROP_CHUNK_BYTES !== 0) {
    throw createError('INTERNAL', `a drop resumes at a multiple of ${DROP_CHUNK_BYTES} bytes, not ${plaintextOffset}`);
  }
  return prologueBytes + (plaintextOffset / DROP_CHUNK_BYTES) * DROP_RECORD_BYTES;
}

/** The data record a stored offset falls in (an upload resuming at the relay's offset): its index and start. */
export function recordAt(prologueBytes: number, storedOffset: number): { index: number; start: number } {
  if (storedOffset < prologueBytes) return { index: -1, start: 0 };
  const index = Math.floor((storedOffset - prologueBytes) / DROP_RECORD_BYTES);
  return { index, start: prologueBytes + index * DROP_RECORD_BYTES };
}

/** Seals a drop's data records in order, from record `startIndex` (a resumed upload regenerates from there). */
export class DropDataSealer<A extends DataAead = Aead> {
  readonly #sealer: FrameSealer<A>;

  constructor(aead: A, startIndex = 0) {
    this.#sealer = new FrameSealer(aead, DATA_STREAM, startIndex);
  }

  /**
   * One record: `chunk` is DROP_CHUNK_BYTES long except in the final record. On an asynchronous DataAead (the
   * page's WebCrypto) the record is promised, and `chunk` must stay unchanged until it settles.
   */
  seal(chunk: Uint8Array, final: boolean): AeadResult<A, Uint8Array> {
    if (!final && chunk.length !== DROP_CHUNK_BYTES) {
      throw createError('INTERNAL', `a drop's data records hold ${DROP_CHUNK_BYTES} bytes but the last`);
    }
    return whenReady(this.#sealer.seal(chunk, final) as MaybePromise<Uint8Array>, record) as AeadResult<A, Uint8Array>;
  }
}

/**
 * What a DropReader gives: the offer, with the prologue's bytes (magic and offer record: a resumed download keeps
 * them, to read the offer again without asking the relay and start at a data record), then the data in order.
 */
export type DropPiece = { type: 'offer'; offer: Offer; prologue: Uint8Array } | { type: 'data'; plaintext: Uint8Array };

/**
 * Reads stored bytes as they arrive (sans-IO: push bytes, get pieces): the magic, the offer, then data in order,
 * each frame authenticated before its plaintext is released. Any failure is CORRUPT and ends the reader. A resumed
 * download feeds the prologue it kept (or reads it from the start), then calls resumeAt and is fed from
 * storedOffsetOf(…) on. On an asynchronous DataAead (the page's WebCrypto) push gives a promise: push again only
 * once it settled, as the frames open in order.
 */
export class DropReader<A extends DataAead = Aead> {
  readonly #aead: A;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #state: 'magic' | 'offer' | 'data' | 'done' = 'magic';
  #offer: Offer | undefined;
  #opener: FrameOpener<A> | undefined;
  #failure: PortunusError | undefined;

  constructor(aead: A) {
    this.#aead = aead;
  }

  /** True once the last record was opened: the drop is complete. */
  get done(): boolean {
    return this.#state === 'done';
  }

  /** Continue with the data record `index` (bytes fed from now on start at its stored offset). */
  resumeAt(index: number): void {
    if (this.#offer === undefined || this.#state === 'magic' || this.#state === 'offer') {
      throw createError('INTERNAL', 'a drop resumes only after its offer was read');
    }
    this.#chunks = [];
    this.#buffered = 0;
    this.#opener = new FrameOpener(this.#aead, DATA_STREAM, index);
    this.#state = 'data';
  }

  push(bytes: Uint8Array): AeadResult<A, DropPiece[]> {
    if (this.#failure !== undefined) throw this.#failure;
    try {
      if (this.#state === 'done' && bytes.length > 0) throw corrupt('bytes after the last record');
      this.#chunks.push(bytes);
      this.#buffered += bytes.length;
      const pieces = this.#drain([]);
      return (isPromise(pieces) ? pieces.catch((err: unknown) => this.#fail(err)) : pieces) as AeadResult<
        A,
        DropPiece[]
      >;
    } catch (err) {
      return this.#fail(err);
    }
  }

  #fail(err: unknown): never {
    this.#failure = err instanceof PortunusError ? err : corrupt(String(err));
    throw this.#failure;
  }

  /** The stored bytes ended: throws CORRUPT unless the last record was read. */
  end(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#state !== 'done') throw (this.#failure = corrupt('truncated: the last record is missing'));
  }

  /** Opens every complete record buffered, in order; a record whose AEAD answers with a promise continues after it. */
  #drain(pieces: DropPiece[]): MaybePromise<DropPiece[]> {
    for (;;) {
      if (this.#state === 'magic') {
        const magic = this.#take(DROP_MAGIC.length);
        if (magic === undefined) return pieces;
        if (!magic.every((b, i) => b === DROP_MAGIC[i])) throw corrupt('not a Portunus drop (bad magic)');
        this.#state = 'offer';
        continue;
      }
      if (this.#state === 'done') {
        if (this.#buffered > 0) throw corrupt('bytes after the last record');
        return pieces;
      }
      const frame = this.#record();
      if (frame === undefined) return pieces;
      const piece = this.#state === 'offer' ? this.#openOffer(frame) : this.#openData(frame);
      if (isPromise(piece)) return piece.then((ready) => (pieces.push(ready), this.#drain(pieces)));
      pieces.push(piece);
    }
  }

  #openOffer(frame: Uint8Array): MaybePromise<DropPiece> {
    const opening = new FrameOpener(this.#aead, CONTROL_STREAM).open(frame) as MaybePromise<StreamFrame>;
    return whenReady(opening, (opened) => this.#offerOpened(frame, opened));
  }

  #offerOpened(frame: Uint8Array, opened: StreamFrame): DropPiece {
    if (!opened.final) throw corrupt('the offer record is not final');
    const text = fromUtf8(opened.plaintext);
    let json: unknown;
    try {
      json = text === undefined ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const offer = parseOffer(json);
    if (offer instanceof PortunusError) throw corrupt(offer.message);
    if (offer.kind === 'stream') throw corrupt('a stored offer has a known size');
    this.#offer = offer;
    this.#state = offerHasData(offer) ? 'data' : 'done';
    this.#opener = new FrameOpener(this.#aead, DATA_STREAM);
    return { type: 'offer', offer, prologue: concatBytes(DROP_MAGIC, record(frame)) };
  }

  #openData(frame: Uint8Array): MaybePromise<DropPiece> {
    return whenReady(this.#opener!.open(frame) as MaybePromise<StreamFrame>, (opened): DropPiece => {
      if (!opened.final && opened.plaintext.length !== DROP_CHUNK_BYTES) {
        throw corrupt('a short record before the last');
      }
      if (opened.final) this.#state = 'done';
      return { type: 'data', plaintext: opened.plaintext };
    });
  }

  /** The next record's frame, once all of it is buffered. */
  #record(): Uint8Array | undefined {
    if (this.#buffered < LENGTH_BYTES) return undefined;
    const head = this.#peek(LENGTH_BYTES);
    const length = new DataView(head.buffer, head.byteOffset, LENGTH_BYTES).getUint32(0);
    if (length < frameOverhead || length > MAX_FRAME_BYTES) throw corrupt(`bad record length ${length}`);
    if (this.#buffered < LENGTH_BYTES + length) return undefined;
    this.#take(LENGTH_BYTES);
    return this.#take(length);
  }

  #peek(n: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return concatBytes(...this.#chunks).subarray(0, n);
  }

  #take(n: number): Uint8Array | undefined {
    if (this.#buffered < n) return undefined;
    let out: Uint8Array;
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.#chunks[0]!;
        const part = Math.min(chunk.length, n - filled);
        out.set(chunk.subarray(0, part), filled);
        filled += part;
        if (part === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(part);
      }
    }
    this.#buffered -= n;
    return out;
  }
}
