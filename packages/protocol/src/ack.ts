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
import type { Aead } from './aead.js';
import { createError, PortunusError } from './errors.js';
import { FrameSealer, openFrame, parseFrameHeader } from './frame.js';
import { ACK_STREAM } from './streams.js';

export const ACK_PLAINTEXT_BYTES = 8;

const TWO_POW_32 = 0x1_0000_0000;

/** Receiver: seals acks, each with a fresh index (several paths may carry copies of one). */
export class AckSealer {
  readonly #sealer: FrameSealer;
  constructor(aead: Aead) {
    this.#sealer = new FrameSealer(aead, ACK_STREAM);
  }

  seal(next: number): Uint8Array {
    const body = new Uint8Array(ACK_PLAINTEXT_BYTES);
    const view = new DataView(body.buffer);
    view.setUint32(0, Math.floor(next / TWO_POW_32));
    view.setUint32(4, next % TWO_POW_32);
    return this.#sealer.seal(body);
  }
}

/**
 * Sender: opens acks that arrive on any path. `open` returns the acknowledged `next`, or undefined for a copy or
 * a stale ack (index not above the newest one opened; never decrypted). Throws CORRUPT for a frame that is not an
 * ack or fails its tag, PROTOCOL for an authentic ack going backwards; the first failure ends the stream.
 */
export class AckOpener {
  readonly #aead: Aead;
  #lastIndex = -1;
  #next = 0;
  #failure: PortunusError | undefined;

  constructor(aead: Aead) {
    this.#aead = aead;
  }

  /** The newest acknowledged `next` (0 before any ack). */
  get next(): number {
    return this.#next;
  }

  open(frame: Uint8Array): number | undefined {
    if (this.#failure) throw this.#failure;
    try {
      return this.#open(frame);
    } catch (err) {
      this.#failure = err instanceof PortunusError ? err : createError('INTERNAL', String(err), { cause: err });
      throw this.#failure;
    }
  }

  #open(frame: Uint8Array): number | undefined {
    const header = parseFrameHeader(frame);
    if (header instanceof PortunusError) throw header;
    if (header.streamId !== ACK_STREAM)
      throw createError('CORRUPT', `wrong stream: expected ${ACK_STREAM}, got ${header.streamId}`);
    if (header.index <= this.#lastIndex) return undefined;
    const { plaintext, final } = openFrame(this.#aead, frame);
    if (final || plaintext.length !== ACK_PLAINTEXT_BYTES) throw createError('CORRUPT', 'malformed ack');
    const view = new DataView(plaintext.buffer, plaintext.byteOffset, ACK_PLAINTEXT_BYTES);
    const next = view.getUint32(0) * TWO_POW_32 + view.getUint32(4);
    if (next < this.#next) throw createError('PROTOCOL', `ack went backwards: ${next} after ${this.#next}`);
    this.#lastIndex = header.index;
    this.#next = next;
    return next;
  }
}
