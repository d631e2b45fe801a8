/**
 * The receiver's side of path switching (PROTOCOL.md §5.5): data frames may come from several paths, and a new path
 * starts with frames the receiver already has. A frame whose index is below the next expected one is a duplicate:
 * it is dropped unopened and never written. The next expected index is opened (FrameOpener: tag, order, FINAL).
 * Anything above it is a gap, which no honest sender produces (it switches only at an acknowledged boundary, or
 * resends from the last ack), so it fails the stream as CORRUPT: nothing is ever buffered out of order.
 */
import type { AeadResult, DataAead } from './aead.js';
import { createError, PortunusError } from './errors.js';
import type { FrameOpener } from './frame-opener.js';
import { parseFrameHeader, type StreamFrame } from './frame.js';
import { whenReady } from './maybe-promise.js';

export type Offered = { kind: 'duplicate'; index: number } | ({ kind: 'frame' } & StreamFrame);

export class ResumingOpener<A extends DataAead = DataAead> {
  readonly #opener: FrameOpener<A>;
  readonly #streamId: number;

  constructor(opener: FrameOpener<A>, streamId: number) {
    this.#opener = opener;
    this.#streamId = streamId;
  }

  get nextIndex(): number {
    return this.#opener.nextIndex;
  }

  get done(): boolean {
    return this.#opener.done;
  }

  /**
   * Classifies and, when it is the next one, opens `frame`. Throws CORRUPT (and ends the stream) like FrameOpener,
   * and like it takes one frame at a time on an asynchronous DataAead (the duplicate test needs a settled index).
   */
  offer(frame: Uint8Array): AeadResult<A, Offered> {
    const header = parseFrameHeader(frame);
    if (header instanceof PortunusError) return this.#open(frame);
    if (header.streamId !== this.#streamId) {
      throw createError('CORRUPT', `wrong stream: expected ${this.#streamId}, got ${header.streamId}`);
    }
    if (header.index < this.#opener.nextIndex) {
      return { kind: 'duplicate', index: header.index } as AeadResult<A, Offered>;
    }
    // The next index is opened; a gap reaches FrameOpener too, which reports it ("unexpected index") and fails.
    return this.#open(frame);
  }

  #open(frame: Uint8Array): AeadResult<A, Offered> {
    const opened = whenReady(this.#opener.open(frame), (ready): Offered => ({ kind: 'frame', ...ready }));
    return opened as AeadResult<A, Offered>;
  }
}
