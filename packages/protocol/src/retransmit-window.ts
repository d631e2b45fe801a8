/**
 * The sender's retransmit window (PROTOCOL.md §5.4): every sealed data frame stays here, byte for byte, until the
 * receiver acknowledges it, so a new path can be given exactly the frames the receiver may lack. Resending the same
 * sealed bytes never reuses a nonce with another plaintext. The window is bounded in bytes: while it is full the
 * sender seals nothing more and waits for acks, so memory stays bounded whatever the file size.
 */
import { createError } from './errors.js';

export class RetransmitWindow {
  readonly #maxBytes: number;
  readonly #frames: Uint8Array[] = [];
  /** Index of #frames[0]: the first frame not yet acknowledged. */
  #acked = 0;
  #bytes = 0;
  #ackedBytes = 0;
  #finalPushed = false;

  /** `startIndex` is the index of the first frame pushed. */
  constructor(maxBytes: number, startIndex = 0) {
    this.#maxBytes = maxBytes;
    this.#acked = startIndex;
  }

  /** Index of the first unacknowledged frame (everything below was written by the receiver). */
  get acked(): number {
    return this.#acked;
  }

  /** Index the next pushed frame must have. */
  get next(): number {
    return this.#acked + this.#frames.length;
  }

  /** Bytes of the frames held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Frame bytes acknowledged so far (what throughput is measured on). */
  get ackedBytes(): number {
    return this.#ackedBytes;
  }

  /** True once the FINAL frame was pushed and every frame is acknowledged. */
  get complete(): boolean {
    return this.#finalPushed && this.#frames.length === 0;
  }

  /** True once the FINAL frame was pushed (nothing more will be). */
  get sealedFinal(): boolean {
    return this.#finalPushed;
  }

  /**
   * A frame of `frameBytes` fits within `limit` bytes, which the sender may set below the window's own bound for
   * the path carrying the data (an empty window always takes one frame, however large).
   */
  hasRoom(frameBytes: number, limit = this.#maxBytes): boolean {
    return this.#frames.length === 0 || this.#bytes + frameBytes <= Math.min(limit, this.#maxBytes);
  }

  push(index: number, frame: Uint8Array, final: boolean): void {
    if (this.#finalPushed) throw createError('INTERNAL', 'frame pushed after the final one');
    if (index !== this.next) throw createError('INTERNAL', `frame ${index} pushed, ${this.next} expected`);
    if (!this.hasRoom(frame.length)) throw createError('INTERNAL', 'retransmit window overfull');
    this.#frames.push(frame);
    this.#bytes += frame.length;
    if (final) this.#finalPushed = true;
  }

  /** The receiver wrote every frame below `next`: release them (each to `onRelease`). Returns how many. */
  ack(next: number, onRelease?: (frame: Uint8Array) => void): number {
    if (next > this.next)
      throw createError('PROTOCOL', `the receiver acknowledged frame ${next - 1}, which was never sent`);
    let released = 0;
    while (this.#acked < next) {
      const frame = this.#frames.shift()!;
      this.#bytes -= frame.length;
      this.#ackedBytes += frame.length;
      this.#acked += 1;
      released += 1;
      onRelease?.(frame);
    }
    return released;
  }

  /** The frames a new path must carry first, oldest first. */
  unacked(): readonly Uint8Array[] {
    return this.#frames;
  }
}
