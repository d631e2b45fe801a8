/**
 * Data frames received from the relay and not yet consumed. Past the high-water mark the socket pauses, so a slow
 * consumer slows the relay, which slows the sender; it resumes once half is consumed (not at once: every frame
 * would pause and resume it).
 */
import type WebSocket from 'ws';

/**
 * Four 1 MiB frames each way: at one frame, every frame paused and resumed the socket. Measured, 1 GiB through a
 * local relay (alternating runs): 3.3-3.8 s -> 3.1-3.75 s, receiver user CPU 1.8-1.9 -> 1.5-1.8 s, RSS within 10 MB.
 */
export const DEFAULT_HIGH_WATER_BYTES = 4 * 1024 * 1024;

export class DataInbox {
  private readonly frames: Uint8Array[] = [];
  /** Bytes held: at most the high-water mark plus one socket read. */
  bytes = 0;

  constructor(
    private readonly ws: WebSocket,
    /** Also the bound on what this side queues to send (ws-relay-client.ts sendData). */
    readonly highWaterMark: number,
  ) {}

  push(data: Buffer): void {
    this.frames.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
    this.bytes += data.length;
    if (this.bytes > this.highWaterMark) this.ws.pause();
  }

  shift(): Uint8Array | undefined {
    const frame = this.frames.shift();
    if (frame === undefined) return undefined;
    this.bytes -= frame.length;
    if (this.ws.isPaused && this.bytes <= this.highWaterMark / 2) this.ws.resume();
    return frame;
  }
}
