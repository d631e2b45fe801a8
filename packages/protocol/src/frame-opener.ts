/**
 * The receiving end of one frame stream (PROTOCOL.md §5.1 receiver rules): FrameSealer's counterpart, on the
 * stateless openStreamFrame of frame.ts.
 */
import type { AeadResult, DataAead } from './aead.js';
import { createError, type PortunusError, toPortunusError } from './errors.js';
import { checkStreamPosition, openStreamFrame, type StreamFrame } from './frame.js';
import { isPromise, type MaybePromise } from './maybe-promise.js';

/**
 * Opens one stream: demands its stream id, indexes startIndex, startIndex + 1, … in order, and nothing after
 * FINAL. The first failure ends the stream — every later call throws too — since a stream that lost or
 * reordered a frame cannot be repaired, and counting forgeries is what GCM's integrity bound needs.
 * The caller must check `done` when the transport ends: not done means the stream was truncated.
 * On an asynchronous DataAead one frame is opened at a time: the next open waits until the previous one settled
 * (order is the point of a stream; an open while one is pending is a caller bug, INTERNAL).
 */
export class FrameOpener<A extends DataAead = DataAead> {
  readonly #aead: A;
  readonly #streamId: number;
  #nextIndex: number;
  #done = false;
  #opening = false;
  #failure: PortunusError | undefined;

  /** startIndex > 0 resumes a stream whose frames up to startIndex − 1 were already opened. */
  constructor(aead: A, streamId: number, startIndex = 0) {
    checkStreamPosition(streamId, startIndex);
    this.#aead = aead;
    this.#streamId = streamId;
    this.#nextIndex = startIndex;
  }

  /** Index the next frame must carry. */
  get nextIndex(): number {
    return this.#nextIndex;
  }

  /** True once the final frame was opened: the stream is complete. */
  get done(): boolean {
    return this.#done;
  }

  open(frame: Uint8Array): AeadResult<A, StreamFrame> {
    if (this.#failure)
      throw createError('CORRUPT', `stream ${this.#streamId} already failed: ${this.#failure.message}`);
    if (this.#opening)
      throw createError('INTERNAL', `stream ${this.#streamId}: a frame came before the last one opened`);
    let opened: MaybePromise<StreamFrame>;
    try {
      if (this.#done) throw createError('CORRUPT', `after final: stream ${this.#streamId} already ended`);
      opened = openStreamFrame(this.#aead, this.#streamId, this.#nextIndex, frame);
    } catch (err) {
      throw this.#fail(err);
    }
    if (!isPromise(opened)) return this.#opened(opened) as AeadResult<A, StreamFrame>;
    this.#opening = true;
    const settledOpen = opened.then(
      (ready) => ((this.#opening = false), this.#opened(ready)),
      (err: unknown) => {
        this.#opening = false;
        throw this.#fail(err);
      },
    );
    return settledOpen as AeadResult<A, StreamFrame>;
  }

  #opened(opened: StreamFrame): StreamFrame {
    this.#nextIndex += 1;
    if (opened.final) this.#done = true;
    return opened;
  }

  #fail(err: unknown): PortunusError {
    this.#failure = toPortunusError(err);
    return this.#failure;
  }
}
