/**
 * Encrypted frames (PROTOCOL.md §5.1): every control message (stream 0, message keys) and every chunk of data
 * (streams 1..n, data keys) travels as one frame
 *
 *   offset 0   u8   flags      bit 0 = FINAL; every other bit must be 0
 *   offset 1   u32  stream id  big-endian
 *   offset 5   u64  index      big-endian; 0, 1, 2, … per (key, stream); below 2^53
 *   offset 13  ciphertext      as long as the plaintext, 0 .. MAX_FRAME_PLAINTEXT bytes
 *   end − 16   GCM tag
 *
 * sealed with AES-256-GCM under the sending side's key, nonce = stream id ‖ index (header bytes 1..12, a counter,
 * never random) and AAD = the 13 header bytes. This is the STREAM construction (Hoang, Reyhanitabar, Rogaway,
 * Vizár, "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015) with an explicit
 * counter: a receiver that demands consecutive indexes and a FINAL frame detects reordering, replay, drops and
 * truncation, not only tampering. FrameSealer and FrameOpener (frame-opener.ts) enforce those rules; sealFrame and
 * openFrame are the stateless primitives under them.
 *
 * Limits: the index is a JS number, so at most 2^53 frames per (key, stream). GCM's own bound binds first, in
 * bytes per key: the confidentiality advantage is at most (s + q + 1)^2 / 2^129 for s blocks (plaintext and AAD)
 * in q frames (draft-irtf-cfrg-aead-limits, single-key AES-GCM), so 2^34 blocks (256 GiB) per key keep it under
 * 2^-60, TLS's target. A key spans streams, so that budget is the session's to keep, not this file's. Forgeries:
 * at most 2·v·(l + 1) / 2^128 for v attempts on frames of l ≤ 2^16 + 1 blocks; FrameOpener stops at the first.
 */
import type { AeadResult, DataAead } from './aead.js';
import { AEAD_TAG_BYTES } from './aead.js';
import { concatBytes } from './bytes.js';
import { createError, PortunusError, toPortunusError } from './errors.js';
import { isPromise, type MaybePromise, whenReady } from './maybe-promise.js';

export const HEADER_BYTES = 13;
export const TAG_BYTES = AEAD_TAG_BYTES;
/** Largest plaintext one frame carries: 1 MiB. */
export const MAX_FRAME_PLAINTEXT = 1024 * 1024;
export const FLAG_FINAL = 0x01;
/** Bytes a frame adds to its plaintext: header + tag = 29. */
export const frameOverhead = HEADER_BYTES + TAG_BYTES;
/** Largest valid frame: what a transport's message size limit must admit. */
export const MAX_FRAME_BYTES = frameOverhead + MAX_FRAME_PLAINTEXT;
/** Largest index: indexes stay exact JS integers. */
export const MAX_FRAME_INDEX = Number.MAX_SAFE_INTEGER;
export const MAX_STREAM_ID = 0xffff_ffff;

const TWO_POW_32 = 0x1_0000_0000;
/** An index's upper 32 bits may not exceed this, or the index would be 2^53 or more. */
const MAX_INDEX_HIGH = Math.floor(MAX_FRAME_INDEX / TWO_POW_32);

export interface FrameHeader {
  final: boolean;
  streamId: number;
  index: number;
}

export interface OpenedFrame extends FrameHeader {
  plaintext: Uint8Array;
}

/** What FrameOpener returns: the stream id is the one it was built for. */
export type StreamFrame = Omit<OpenedFrame, 'streamId'>;

function corrupt(message: string): PortunusError {
  return createError('CORRUPT', message);
}

function encodeHeader(streamId: number, index: number, final: boolean): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint8(0, final ? FLAG_FINAL : 0);
  view.setUint32(1, streamId);
  view.setUint32(5, Math.floor(index / TWO_POW_32));
  view.setUint32(9, index % TWO_POW_32);
  return header;
}

function checkStreamId(streamId: number): void {
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > MAX_STREAM_ID) {
    throw corrupt(`bad stream id: ${String(streamId)} is not a u32`);
  }
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_FRAME_INDEX) {
    throw corrupt(`bad index: ${String(index)} is not an integer in 0 .. 2^53 - 1`);
  }
}

/** Throws CORRUPT unless `streamId` is a u32 and `index` an integer in 0 .. 2^53 − 1: a place in the frame layout. */
export function checkStreamPosition(streamId: number, index: number): void {
  checkStreamId(streamId);
  checkIndex(index);
}

/**
 * Seals one frame. Stateless: the caller guarantees (streamId, index) is never used twice under this key;
 * FrameSealer does that bookkeeping. Throws CORRUPT for arguments outside the layout (too large, bad stream or index).
 * On an asynchronous DataAead the frame is promised (and a failure of the AEAD rejects, as INTERNAL).
 */
export function sealFrame<A extends DataAead>(
  aead: A,
  streamId: number,
  index: number,
  final: boolean,
  plaintext: Uint8Array,
): AeadResult<A, Uint8Array> {
  return seal(aead, streamId, index, final, plaintext, false);
}

/**
 * A plaintext buffer with room for its frame around it: HEADER_BYTES before and TAG_BYTES after it, in an
 * ArrayBuffer of its own. FrameSealer.sealOwned builds the frame in that memory instead of allocating another.
 */
export function allocFramePlaintext(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_FRAME_PLAINTEXT) {
    throw createError('INTERNAL', `a frame's plaintext is 0 .. ${MAX_FRAME_PLAINTEXT} bytes, not ${length}`);
  }
  return new Uint8Array(frameOverhead + length).subarray(HEADER_BYTES, HEADER_BYTES + length);
}

/** The whole frame-sized buffer around `plaintext` when allocFramePlaintext made it (nothing else is overwritten). */
function frameRoomAround(plaintext: Uint8Array): Uint8Array | undefined {
  const { buffer, byteOffset, length } = plaintext;
  if (byteOffset !== HEADER_BYTES || buffer.byteLength !== frameOverhead + length) return undefined;
  return new Uint8Array(buffer, 0, buffer.byteLength);
}

function seal<A extends DataAead>(
  aead: A,
  streamId: number,
  index: number,
  final: boolean,
  plaintext: Uint8Array,
  owned: boolean,
): AeadResult<A, Uint8Array> {
  checkStreamId(streamId);
  checkIndex(index);
  if (!(plaintext instanceof Uint8Array)) throw corrupt('plaintext is not bytes');
  if (plaintext.length > MAX_FRAME_PLAINTEXT) {
    throw corrupt(`too large: ${plaintext.length} bytes of plaintext, at most ${MAX_FRAME_PLAINTEXT} per frame`);
  }
  const header = encodeHeader(streamId, index, final);
  const nonce = header.subarray(1);
  return settled<A, Uint8Array>(() => {
    const room = owned && aead.sealInPlace ? frameRoomAround(plaintext) : undefined;
    if (room !== undefined) return aead.sealInPlace!(nonce, header, room);
    if (aead.sealWithPrefix) return aead.sealWithPrefix(nonce, header, plaintext);
    return whenReady(aead.seal(nonce, header, plaintext), (sealed) => concatBytes(header, sealed));
  });
}

/**
 * Runs a call into the AEAD: what it throws, or its promise rejects with, is its own failure and never the peer's,
 * so it becomes a PortunusError (INTERNAL unless it is one already); a plain result stays plain.
 */
function settled<A extends DataAead, T>(call: () => MaybePromise<T>): AeadResult<A, T> {
  let result: MaybePromise<T>;
  try {
    result = call();
  } catch (err) {
    throw toPortunusError(err);
  }
  if (!isPromise(result)) return result as AeadResult<A, T>;
  return result.catch((err: unknown) => {
    throw toPortunusError(err);
  }) as AeadResult<A, T>;
}

/** Reads and checks a frame's header (sizes, flags, index range) without authenticating anything. */
export function parseFrameHeader(frame: Uint8Array): FrameHeader | PortunusError {
  if (!(frame instanceof Uint8Array)) return corrupt('short frame: not bytes');
  if (frame.length < frameOverhead) {
    return corrupt(`short frame: ${frame.length} bytes, a frame has at least ${frameOverhead}`);
  }
  if (frame.length > MAX_FRAME_BYTES) return corrupt(`too large: ${frame.length} bytes, at most ${MAX_FRAME_BYTES}`);
  const view = new DataView(frame.buffer, frame.byteOffset, HEADER_BYTES);
  const flags = view.getUint8(0);
  if ((flags & ~FLAG_FINAL) !== 0) return corrupt(`bad flags: 0x${flags.toString(16).padStart(2, '0')}`);
  const indexHigh = view.getUint32(5);
  if (indexHigh > MAX_INDEX_HIGH) return corrupt('bad index: 2^53 or more');
  return {
    final: (flags & FLAG_FINAL) !== 0,
    streamId: view.getUint32(1),
    index: indexHigh * TWO_POW_32 + view.getUint32(9),
  };
}

/** Authenticates and decrypts a frame whose header parseFrameHeader accepted. */
function decrypt<A extends DataAead>(aead: A, frame: Uint8Array): AeadResult<A, Uint8Array> {
  const header = frame.subarray(0, HEADER_BYTES);
  const opened = settled<A, Uint8Array | undefined>(() =>
    aead.open(header.subarray(1), header, frame.subarray(HEADER_BYTES)),
  );
  return whenReady(opened, authentic) as AeadResult<A, Uint8Array>;
}

/** An Aead reports a bad tag as undefined. */
function authentic(plaintext: Uint8Array | undefined): Uint8Array {
  if (plaintext === undefined) throw corrupt('bad tag: the frame failed authentication');
  return plaintext;
}

/**
 * Opens one frame, checking only the frame itself: any stream, any index. Throws CORRUPT (or, on an asynchronous
 * DataAead, rejects with it for a bad tag). Use FrameOpener for a stream, which also enforces order and completeness.
 */
export function openFrame<A extends DataAead>(aead: A, frame: Uint8Array): AeadResult<A, OpenedFrame> {
  const header = parseFrameHeader(frame);
  if (header instanceof PortunusError) throw header;
  return whenReady(decrypt(aead, frame), (plaintext) => ({ ...header, plaintext })) as AeadResult<A, OpenedFrame>;
}

/**
 * Opens the frame a stream expects next: `streamId` and `index` must match (§5.1 receiver rules 4, 5), then the tag.
 * Stateless, like sealFrame: the caller keeps the next index and the FINAL state. Throws CORRUPT.
 */
export function openStreamFrame<A extends DataAead>(
  aead: A,
  streamId: number,
  index: number,
  frame: Uint8Array,
): AeadResult<A, StreamFrame> {
  const header = parseFrameHeader(frame);
  if (header instanceof PortunusError) throw header;
  if (header.streamId !== streamId) throw corrupt(`wrong stream: expected ${streamId}, got ${header.streamId}`);
  if (header.index !== index) throw corrupt(`unexpected index: expected ${index}, got ${header.index}`);
  const { final } = header;
  return whenReady(decrypt(aead, frame), (plaintext) => ({ plaintext, final, index })) as AeadResult<A, StreamFrame>;
}

/**
 * Seals one stream: indexes startIndex, startIndex + 1, … and nothing after the frame marked final.
 * Each (key, stream) pair must have exactly one FrameSealer, or nonces repeat. Each call takes its index when it is
 * made, so on an asynchronous DataAead frames carry the order of the calls whatever order their seals finish in;
 * an index is never used twice, even when an asynchronous seal fails after taking it.
 */
export class FrameSealer<A extends DataAead = DataAead> {
  readonly #aead: A;
  readonly #streamId: number;
  #nextIndex: number;
  #done = false;

  /** startIndex > 0 resumes a stream whose frames up to startIndex − 1 were already sealed (and acknowledged). */
  constructor(aead: A, streamId: number, startIndex = 0) {
    checkStreamPosition(streamId, startIndex);
    this.#aead = aead;
    this.#streamId = streamId;
    this.#nextIndex = startIndex;
  }

  /** Index the next sealed frame gets. */
  get nextIndex(): number {
    return this.#nextIndex;
  }

  /** True once the final frame was sealed. */
  get done(): boolean {
    return this.#done;
  }

  seal(plaintext: Uint8Array, final = false): AeadResult<A, Uint8Array> {
    return this.#seal(plaintext, final, false);
  }

  /**
   * seal(), taking ownership of `plaintext`: when allocFramePlaintext made it, the frame is built in its memory
   * (overwriting it), which saves an allocation per frame on the data path. The caller must not use it afterwards.
   */
  sealOwned(plaintext: Uint8Array, final = false): AeadResult<A, Uint8Array> {
    return this.#seal(plaintext, final, true);
  }

  #seal(plaintext: Uint8Array, final: boolean, owned: boolean): AeadResult<A, Uint8Array> {
    if (this.#done) throw corrupt(`after final: stream ${this.#streamId} already sealed its final frame`);
    if (this.#nextIndex > MAX_FRAME_INDEX) throw corrupt(`bad index: stream ${this.#streamId} used all 2^53 indexes`);
    const frame = seal(this.#aead, this.#streamId, this.#nextIndex, final, plaintext, owned);
    // Only a plaintext the layout accepts takes its index: a refused one (seal threw) leaves the counter alone.
    this.#nextIndex += 1;
    if (final) this.#done = true;
    return frame;
  }
}
