/**
 * Frame buffers the sender uses again (issue 18). Every data frame is sealed in the memory its chunk was read into
 * (allocChunk, rechunk.ts), and it stays in the retransmit window until acknowledged. Left to the garbage collector,
 * those 1 MiB buffers outlive a scavenge or two in the window and end up in V8's old generation, which is collected
 * only when external memory has grown by 64 MB since the last full collection: the sender's RSS carried ~64 MB of
 * dead frames on top of the window. Instead, an acknowledged frame goes back to this pool and the next chunk is read
 * into it, so the sender's memory is the window and a few spare frames.
 *
 * A frame may be reused only when nothing can still read it: it was handed to exactly one link, and that link is a
 * byte stream (the relay's WebSocket or a TCP socket), whose bytes all went to the kernel before the receiver could
 * acknowledge them. A resent frame (the data moved) may still sit in the old link's queue, and a WebRTC engine may
 * keep a frame for its own retransmissions (werift holds it until the SCTP SACK), so those go to the collector.
 */
import { allocFramePlaintext, frameOverhead, HEADER_BYTES, type PathKind } from '@portunus/protocol';

/**
 * Spare frames kept: as many as the relay's window holds (16 MiB of 1 MiB frames), since one ack may release that
 * many. With 4, one frame in eight missed the pool, was allocated anew and its predecessor left to the collector
 * (measured: 137 of 1024 frames for 1 GiB, sender peak RSS 151 MB; with 16, 18 misses, the first window, and 113 MB).
 */
const MAX_SPARE = 16;

/** Links whose send hands every byte to the kernel, keeping no reference after the receiver could have read it. */
const BYTE_STREAMS: ReadonlySet<PathKind> = new Set<PathKind>(['relay', 'tcp']);

class FramePool {
  private readonly spare: ArrayBuffer[] = [];
  /** Buffers this pool made: only those come back (anything else has a shape the sealer does not expect). */
  private readonly issued = new WeakSet<ArrayBuffer>();

  /** A plaintext view of `length` bytes with room for its frame around it (allocFramePlaintext's shape). */
  take(length: number): Uint8Array {
    const size = frameOverhead + length;
    const at = this.spare.findIndex((buffer) => buffer.byteLength === size);
    if (at >= 0) return new Uint8Array(this.spare.splice(at, 1)[0]!, HEADER_BYTES, length);
    const plaintext = allocFramePlaintext(length);
    this.issued.add(plaintext.buffer as ArrayBuffer);
    return plaintext;
  }

  give(frame: Uint8Array): void {
    const buffer = frame.buffer as ArrayBuffer;
    if (this.spare.length >= MAX_SPARE || !this.issued.has(buffer) || this.spare.includes(buffer)) return;
    this.spare.push(buffer);
  }
}

/** One pool per process: every sender reads its chunks through allocChunk. */
export const framePool = new FramePool();

/** The sender's side: which sealed frames may go back to the pool once acknowledged. */
export class FrameRecycling {
  /** Frames handed to a link once, on a byte stream (false: resent, or lent to another kind of link). */
  private readonly reusable = new WeakMap<Uint8Array, boolean>();

  sent(frame: Uint8Array, link: PathKind): void {
    this.reusable.set(frame, !this.reusable.has(frame) && BYTE_STREAMS.has(link));
  }

  /** `frame` was acknowledged: the receiver wrote it, and it is never sent again. */
  released(frame: Uint8Array): void {
    if (this.reusable.get(frame) === true) framePool.give(frame);
  }
}
