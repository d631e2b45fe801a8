/**
 * The direct TCP data path (PROTOCOL.md §6.3): after the binding handshake (tcp-handshake.ts) the stream
 * carries the same sealed frames as every other transport, each as
 *
 *   u32 big-endian length ‖ frame bytes        (length ≤ MAX_FRAME_BYTES, i.e. 1 MiB + 29)
 *
 * Backpressure both ways: send() waits for 'drain' once the socket holds HIGH_WATER_BYTES, and reading pauses the
 * socket while the frames the consumer has not taken exceed INBOX_HIGH_BYTES, so TCP's own window holds the sender.
 *
 * Frames arrive in 64 KiB reads, so a data frame is always assembled by a copy; it is copied into a buffer from a
 * small pool, handed back when the consumer asks for the next frame (the Transport contract lends each frame until
 * then). That saves a 1 MiB allocation per frame, and with it most of the garbage collector's work on this path.
 */
import type { Socket } from 'node:net';
import { createError, MAX_FRAME_BYTES, type PortunusError } from '@portunus/protocol';
import { settleWithin, type Transport, Wakeup } from '@portunus/client';

export const LENGTH_BYTES = 4;
/** Bytes queued in the socket before send() waits for 'drain': a few frames, so the kernel buffer never runs dry. */
export const HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** Frames read but not yet consumed above which the socket is paused, and below which it resumes. */
export const INBOX_HIGH_BYTES = 2 * 1024 * 1024;
const INBOX_LOW_BYTES = 1024 * 1024;
/** Frames this large or larger are assembled in pooled buffers; smaller ones are not worth it. */
const POOLED_FROM_BYTES = 64 * 1024;
/**
 * Free pooled buffers kept for reuse (the rest are left to the garbage collector). The inbox holds up to
 * INBOX_HIGH_BYTES of frames and the one that passes it, besides the one lent, and the receiver drains it in bursts
 * (between its file writes): with 2 spares, 117–182 of a GiB's 1,024 frames still got a new buffer and the receiver
 * peaked at 115.7–125.5 MB; with 4, 3 did, and 108.3–111.4 MB (1 GiB between two processes, three alternating runs).
 */
const SPARE_BUFFERS = 4;
/** After close() the peer gets this long to finish its side before the socket is destroyed. */
const CLOSE_WAIT_MS = 2_000;

export class TcpTransport implements Transport {
  readonly kind = 'tcp' as const;
  private readonly inbox: Uint8Array[] = [];
  private inboxBytes = 0;
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Length of the frame being read, or -1 while its length prefix is incomplete. */
  private need = -1;
  /** undefined while open, null after a clean end, else what ended the connection. */
  private ended: PortunusError | null | undefined;
  private closing: Promise<void> | undefined;
  private readonly changes = new Wakeup();
  /** Pool buffers (MAX_FRAME_BYTES each) not in use, and the frame lent to the consumer (if it is from the pool). */
  private readonly spare: ArrayBuffer[] = [];
  private readonly pooled = new WeakSet<ArrayBuffer>();
  private lent: ArrayBuffer | undefined;

  /** Takes over a socket whose binding handshake passed; `leftover` are bytes already read past the handshake. */
  constructor(
    private readonly socket: Socket,
    leftover: Uint8Array = new Uint8Array(0),
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.socketOnData(chunk));
    socket.on('drain', () => this.wake());
    socket.on('end', () => this.socketOnEnd());
    socket.on('error', (err) =>
      this.fail(createError('INTERRUPTED', 'the direct TCP connection failed', { cause: err })),
    );
    socket.on('close', () => this.fail(createError('INTERRUPTED', 'the direct TCP connection was closed')));
    if (leftover.length > 0) this.socketOnData(Buffer.from(leftover.buffer, leftover.byteOffset, leftover.byteLength));
    socket.resume();
  }

  async send(frame: Uint8Array): Promise<void> {
    this.throwIfEnded();
    if (frame.length > MAX_FRAME_BYTES) throw createError('INTERNAL', 'frame too large for the direct TCP connection');
    const header = Buffer.allocUnsafe(LENGTH_BYTES);
    header.writeUInt32BE(frame.length, 0);
    this.socket.cork();
    this.socket.write(header);
    this.socket.write(frame);
    this.socket.uncork();
    // Not bounded here: a path that stops moving is found dead by the data plane's stall rule (transfer/stall.ts),
    // which closes it, and that ends this wait.
    while (this.socket.writableLength > HIGH_WATER_BYTES) {
      this.throwIfEnded();
      await this.nextEvent();
    }
    this.throwIfEnded();
  }

  async *frames(): AsyncIterable<Uint8Array> {
    for (;;) {
      // The consumer is back for more: the frame it had is free again.
      this.giveBack();
      const frame = this.inbox.shift();
      if (frame !== undefined) {
        this.inboxBytes -= frame.length;
        if (this.inboxBytes <= INBOX_LOW_BYTES && this.socket.isPaused() && this.ended === undefined)
          this.socket.resume();
        if (this.pooled.has(frame.buffer as ArrayBuffer)) this.lent = frame.buffer as ArrayBuffer;
        yield frame;
        continue;
      }
      if (this.ended === null) return;
      if (this.ended !== undefined) throw this.ended;
      await this.nextEvent();
    }
  }

  private giveBack(): void {
    if (this.lent !== undefined && this.spare.length < SPARE_BUFFERS) this.spare.push(this.lent);
    this.lent = undefined;
  }

  /** Room for an n-byte frame: from the pool for data frames, else fresh. */
  private frameBuffer(n: number): Buffer {
    if (n < POOLED_FROM_BYTES) return Buffer.allocUnsafe(n);
    let memory = this.spare.pop();
    if (memory === undefined) {
      memory = new ArrayBuffer(MAX_FRAME_BYTES);
      this.pooled.add(memory);
    }
    return Buffer.from(memory, 0, n);
  }

  /** Ends our side (the peer reads a clean end), then releases the socket; bounded and idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ended ??= null;
      this.wake();
      if (this.socket.destroyed) return;
      const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
      this.socket.end();
      await settleWithin(closed, CLOSE_WAIT_MS);
      this.socket.destroy();
    })();
    return this.closing;
  }

  private socketOnData(chunk: Buffer): void {
    if (this.ended !== undefined) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.pendingBytes < LENGTH_BYTES) break;
        this.need = this.take(LENGTH_BYTES).readUInt32BE(0);
        if (this.need > MAX_FRAME_BYTES)
          return void this.fail(
            createError('PROTOCOL', 'the peer sent an oversized frame on the direct TCP connection'),
          );
      }
      if (this.pendingBytes < this.need) break;
      const frame = this.take(this.need);
      this.need = -1;
      this.inbox.push(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
      this.inboxBytes += frame.length;
    }
    if (this.inboxBytes > INBOX_HIGH_BYTES) this.socket.pause();
    this.wake();
  }

  /** The next `n` buffered bytes, without a copy when one chunk holds them all. */
  private take(n: number): Buffer {
    const first = this.pending[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
    } else {
      out = this.frameBuffer(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.pending[0]!;
        const used = Math.min(chunk.length, n - filled);
        chunk.copy(out, filled, 0, used);
        filled += used;
        if (used === chunk.length) this.pending.shift();
        else this.pending[0] = chunk.subarray(used);
      }
    }
    this.pendingBytes -= n;
    return out;
  }

  private socketOnEnd(): void {
    // A clean end between frames closes the path; one inside a frame means it was cut off.
    if (this.need >= 0 || this.pendingBytes > 0)
      this.fail(createError('INTERRUPTED', 'the direct TCP connection ended inside a frame'));
    else if (this.ended === undefined) {
      this.ended = null;
      void this.close();
    }
    this.wake();
  }

  /** Ends the connection with `error` (the first cause wins). */
  private fail(error: PortunusError): void {
    if (this.ended === undefined) {
      this.ended = error;
      this.socket.destroy();
    }
    this.wake();
  }

  private throwIfEnded(): void {
    if (this.ended === null || this.socket.destroyed)
      throw createError('INTERRUPTED', 'the direct TCP connection was closed');
    if (this.ended !== undefined) throw this.ended;
  }

  private nextEvent(): Promise<void> {
    return this.changes.next();
  }

  private wake(): void {
    this.changes.wake();
  }
}
