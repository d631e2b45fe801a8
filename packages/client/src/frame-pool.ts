/**
 * Frame buffers the sender uses again (issue 18). Every data frame is sealed in the memory its chunk was read into
 * (allocChunk, rechunk.ts), and it stays in the retransmit window until acknowledged. Left to the garbage collector,
 * those buffers outlive a scavenge or two in the window and end up in V8's old generation, which is collected only
 * when external memory has grown by 64 MB since the last full collection: the sender's RSS carried ~64 MB of dead
 * frames on top of the window, and glibc, whose mmap threshold rises with every large block freed, served the next
 * ones from a heap it then kept (werift's sender: 75 MB of malloc heap for 8 MiB of window). Instead, an
 * acknowledged frame goes back to this pool and the next chunk is read into it, so the sender's memory is the window
 * and a few spare frames.
 *
 * A frame may be reused once nothing can read it for the receiver any more: it was handed to exactly one link, and
 * the receiver acknowledged it. A resent frame (the data moved) may still sit in the old link's queue, so it goes to
 * the collector. On a byte stream (the relay's WebSocket, a TCP socket) every byte went to the kernel before the
 * receiver could read it. A WebRTC engine either copies on send (libdatachannel, browsers) or keeps views of the
 * frame for its own retransmissions until the SCTP SACK (werift); the receiver acknowledges a frame only once its
 * SCTP delivered the whole message, so every fragment werift might still resend has a TSN the receiving SCTP already
 * has, and it drops such a duplicate without reading it (RFC 9260 §6.2; werift's markReceived).
 */
import { allocFramePlaintext, frameOverhead, HEADER_BYTES } from '@portunus/protocol';

/**
 * Spare chunk bytes kept: as much as the relay's window holds (16 MiB: 16 frames of 1 MiB, 64 of WebRTC's 256 KiB),
 * since one ack may release that much. With 4 MiB, one 1 MiB frame in eight missed the pool, was allocated anew and
 * its predecessor left to the collector (measured: 137 of 1024 frames for 1 GiB, sender peak RSS 151 MB; with
 * 16 MiB, 18 misses, the first window, and 113 MB).
 */
const MAX_SPARE_BYTES = 16 * 1024 * 1024;

class FramePool {
  private readonly spare: ArrayBuffer[] = [];
  /** The spares' chunk bytes (plaintextBytes). */
  private spareBytes = 0;
  /** Buffers this pool made: only those come back (anything else has a shape the sealer does not expect). */
  private readonly issued = new WeakSet<ArrayBuffer>();

  /** A plaintext view of `length` bytes with room for its frame around it (allocFramePlaintext's shape). */
  take(length: number): Uint8Array {
    const size = frameOverhead + length;
    const at = this.spare.findIndex((buffer) => buffer.byteLength === size);
    if (at >= 0) {
      const buffer = this.spare.splice(at, 1)[0]!;
      this.spareBytes -= plaintextBytes(buffer);
      return new Uint8Array(buffer, HEADER_BYTES, length);
    }
    const plaintext = allocFramePlaintext(length);
    this.issued.add(plaintext.buffer as ArrayBuffer);
    return plaintext;
  }

  give(frame: Uint8Array): void {
    const buffer = frame.buffer as ArrayBuffer;
    if (!this.issued.has(buffer) || this.spare.includes(buffer)) return;
    // Spares of another size (kept while another path, with other frames, carried the data) make room first.
    while (this.spareBytes + plaintextBytes(buffer) > MAX_SPARE_BYTES) {
      const other = this.spare.findIndex((spare) => spare.byteLength !== buffer.byteLength);
      if (other < 0) return;
      this.spareBytes -= plaintextBytes(this.spare.splice(other, 1)[0]!);
    }
    this.spare.push(buffer);
    this.spareBytes += plaintextBytes(buffer);
  }
}

/** The chunk a pooled buffer holds: what the windows count. */
function plaintextBytes(buffer: ArrayBuffer): number {
  return buffer.byteLength - frameOverhead;
}

/** One pool per process: every sender reads its chunks through allocChunk. */
export const framePool = new FramePool();

/** The sender's side: which sealed frames may go back to the pool once acknowledged. */
export class FrameRecycling {
  /** Frames handed to one link once (false: resent, the data having moved). */
  private readonly reusable = new WeakMap<Uint8Array, boolean>();

  sent(frame: Uint8Array): void {
    this.reusable.set(frame, !this.reusable.has(frame));
  }

  /** `frame` was acknowledged: the receiver wrote it, and it is never sent again. */
  released(frame: Uint8Array): void {
    if (this.reusable.get(frame) === true) framePool.give(frame);
  }
}
