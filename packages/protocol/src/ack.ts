/**
 * Acknowledgements of the data stream (PROTOCOL.md §5.3): the receiver tells the sender which data
 * frames are safely written, so the sender may forget them and, when a path changes, resend exactly the rest.
 *
 * An ack is a frame (§5.1) on stream ACK_STREAM, sealed with the RECEIVER's data key (which seals nothing else), whose
 * 8-byte plaintext is u64be(next): every data frame with an index below `next` has been written to the sink. Acks
 * travel back over whichever data path delivered the frame they answer, so several paths may carry them and a
 * relay may delay, drop or replay them: the sender keeps the newest (highest ack index) and drops the rest unopened.
 * A forged ack fails its tag, so a relay cannot make the sender forget a frame the receiver never wrote.
 */
import type { AeadResult, DataAead } from './aead.js';
import { createError, PortunusError, toPortunusError } from './errors.js';
import { FrameSealer, openFrame, parseFrameHeader, type OpenedFrame } from './frame.js';
import { isPromise } from './maybe-promise.js';
import { ACK_STREAM } from './streams.js';

export const ACK_PLAINTEXT_BYTES = 8;

const TWO_POW_32 = 0x1_0000_0000;

/** Receiver: seals acks, each with a fresh index (several paths may carry copies of one). */
export class AckSealer<A extends DataAead = DataAead> {
  readonly #sealer: FrameSealer<A>;
  constructor(aead: A) {
    this.#sealer = new FrameSealer(aead, ACK_STREAM);
  }

  seal(next: number): AeadResult<A, Uint8Array> {
    const body = new Uint8Array(ACK_PLAINTEXT_BYTES);
    const view = new DataView(body.buffer);
    view.setUint32(0, Math.floor(next / TWO_POW_32));
    view.setUint32(4, next % TWO_POW_32);
    return this.#sealer.seal(body);
  }
}

/**
 * Sender: opens acks that arrive on any path. `open` gives the acknowledged `next`, or undefined for a copy or
 * a stale ack (index not above the newest one opened; never decrypted). Throws CORRUPT for a frame that is not an
 * ack or fails its tag, PROTOCOL for an authentic ack going backwards; the first failure ends the stream.
 * On an asynchronous DataAead several acks may be opening at once (one per path): whichever settles after a newer
 * one was taken is stale, and dropped like any other.
 */
export class AckOpener<A extends DataAead = DataAead> {
  readonly #aead: A;
  #lastIndex = -1;
  #next = 0;
  #failure: PortunusError | undefined;

  constructor(aead: A) {
    this.#aead = aead;
  }

  /** The newest acknowledged `next` (0 before any ack). */
  get next(): number {
    return this.#next;
  }

  open(frame: Uint8Array): AeadResult<A, number | undefined> {
    if (this.#failure) throw this.#failure;
    try {
      const header = parseFrameHeader(frame);
      if (header instanceof PortunusError) throw header;
      if (header.streamId !== ACK_STREAM)
        throw createError('CORRUPT', `wrong stream: expected ${ACK_STREAM}, got ${header.streamId}`);
      if (header.index <= this.#lastIndex) return undefined as AeadResult<A, undefined>;
      const opened = openFrame(this.#aead, frame);
      if (!isPromise(opened)) return this.#take(opened) as AeadResult<A, number | undefined>;
      const taken = opened.then((ready) => this.#take(ready));
      return taken.catch((err: unknown) => {
        throw this.#fail(err);
      }) as AeadResult<A, number | undefined>;
    } catch (err) {
      throw this.#fail(err);
    }
  }

  #take({ plaintext, final, index }: OpenedFrame): number | undefined {
    if (this.#failure) throw this.#failure;
    if (index <= this.#lastIndex) return undefined;
    if (final || plaintext.length !== ACK_PLAINTEXT_BYTES) throw createError('CORRUPT', 'malformed ack');
    const view = new DataView(plaintext.buffer, plaintext.byteOffset, ACK_PLAINTEXT_BYTES);
    const next = view.getUint32(0) * TWO_POW_32 + view.getUint32(4);
    if (next < this.#next) throw createError('PROTOCOL', `ack went backwards: ${next} after ${this.#next}`);
    this.#lastIndex = index;
    this.#next = next;
    return next;
  }

  #fail(err: unknown): PortunusError {
    this.#failure ??= toPortunusError(err);
    return this.#failure;
  }
}
