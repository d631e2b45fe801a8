/**
 * Sealed control messages over several paths (PROTOCOL.md §5.7 "Control messages on direct paths"): every sealed
 * control frame (stream 0) is sent on the relay AND on every direct path, so the receipts still arrive when the
 * relay connection dies. The copies must reach the session machine once each and in order, because its
 * opener demands consecutive indexes. ControlOrder does that: a frame below the next index is a copy, dropped
 * unopened; the next one is delivered with any held ones that follow it; one ahead (it came on a path faster than
 * the one carrying its predecessor) is held, at most `maxHeld` of them and MAX_HELD_CONTROL_BYTES in all, beyond
 * which the peer is misbehaving.
 * Anything that is not a stream-0 frame (the clear handshake messages, garbage) passes straight through, so the
 * session machine judges it as before.
 */
import { createError, PortunusError } from './errors.js';
import { parseFrameHeader } from './frame.js';
import { CONTROL_STREAM } from './streams.js';

/** Sealed control messages held out of order: a session sends only a few dozen (signals ≤ 64, hints, receipts). */
export const MAX_HELD_CONTROL = 128;
/**
 * Bytes held out of order: honest messages are a few KiB at most, while a frame may be 1 MiB, so without this a
 * hostile peer could park 128 MiB here.
 */
export const MAX_HELD_CONTROL_BYTES = 1024 * 1024;

export class ControlOrder {
  readonly #maxHeld: number;
  readonly #held = new Map<number, Uint8Array>();
  #heldBytes = 0;
  #next = 0;

  constructor(maxHeld = MAX_HELD_CONTROL) {
    this.#maxHeld = maxHeld;
  }

  /** The index of the next sealed control message expected (everything below it was delivered). */
  get next(): number {
    return this.#next;
  }

  /** The messages `body` makes deliverable, in order (none for a copy or one held). Throws PROTOCOL when overfull. */
  push(body: Uint8Array): Uint8Array[] {
    const header = parseFrameHeader(body);
    if (header instanceof PortunusError || header.streamId !== CONTROL_STREAM) return [body];
    if (header.index < this.#next || this.#held.has(header.index)) return [];
    if (header.index > this.#next) {
      if (this.#held.size >= this.#maxHeld || this.#heldBytes + body.length > MAX_HELD_CONTROL_BYTES) {
        throw createError('PROTOCOL', 'too many control messages out of order');
      }
      this.#held.set(header.index, body);
      this.#heldBytes += body.length;
      return [];
    }
    const out = [body];
    this.#next += 1;
    for (let held = this.#held.get(this.#next); held !== undefined; held = this.#held.get(this.#next)) {
      this.#held.delete(this.#next);
      this.#heldBytes -= held.length;
      out.push(held);
      this.#next += 1;
    }
    return out;
  }
}
