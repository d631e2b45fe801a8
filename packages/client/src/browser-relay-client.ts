/**
 * The relay conversation (relay-conversation.ts) over a W3C WebSocket: the page's (the browser's own), or any object
 * with that API (Node tests pass the `ws` package's). It differs from the CLI's client where the browser forces it:
 * - Receiving cannot pause: a browser WebSocket reads whatever arrives. What bounds inbound data is the sender's
 *   retransmit window on the relay path (window-bytes.ts RELAY_WINDOW_BYTES): a conforming sender never has more than that unacknowledged,
 *   and the receiver acknowledges only what it wrote. Queued data beyond `maxQueuedDataBytes` (twice the window) is
 *   a peer that ignores acks, and ends the connection with a PROTOCOL error rather than a queue that grows.
 * - Sending has no drain event: sendData waits while `bufferedAmount` is above the high-water mark, polled every
 *   DRAIN_POLL_MS at most.
 * - No WebSocket pings reach script: the relay is asked with `ping` messages (PROTOCOL.md §2.8), a quarter of the
 *   stall timeout apart (never more often than the relay's allowance refills), and dropped (RELAY_UNREACHABLE) once
 *   nothing at all came from it for a whole stall timeout.
 * - A browser cannot tear a socket down: a relay that never answers the closing handshake is given CLOSE_WAIT_MS.
 */
import { createError, encodeClientMessage, MAX_FRAME_BYTES, PING_REFILL_MS } from '@portunus/protocol';
import {
  BROWSER_HIGH_WATER_BYTES,
  type BrowserRelayClientOptions,
  DRAIN_POLL_MS,
  MAX_QUEUED_DATA_BYTES,
  type W3CWebSocket,
} from './browser-relay-options.js';
import type { RelayClient } from './relay-client.js';
import { RelayConversation } from './relay-conversation.js';
import { DEFAULT_STALL_TIMEOUT_MS } from './stall.js';
import { unref } from './unref.js';

const OPEN = 1;
const MiB = 1024 * 1024;
/** How long closing waits for the relay's side of the closing handshake. */
const CLOSE_WAIT_MS = 2000;

/** Connects, says hello and waits for the welcome; on failure the socket is closed and the error thrown. */
export async function connectBrowserRelay(opts: BrowserRelayClientOptions): Promise<RelayClient> {
  const client = new BrowserRelayClient(opts);
  await client.handshake();
  return client;
}

export class BrowserRelayClient extends RelayConversation {
  private readonly ws: W3CWebSocket;
  private readonly frames: Uint8Array[] = [];
  private queued = 0;
  private readonly limits: { hwm: number; queue: number; frame: number; stallMs: number };
  /** When something last arrived from the relay (performance.now), and the timer that pings it. */
  private heardAt = performance.now();
  private pinger: ReturnType<typeof setInterval> | undefined;

  constructor(opts: BrowserRelayClientOptions) {
    super(opts);
    this.limits = {
      hwm: opts.highWaterMark ?? BROWSER_HIGH_WATER_BYTES,
      queue: opts.maxQueuedDataBytes ?? MAX_QUEUED_DATA_BYTES,
      frame: opts.maxFrameBytes ?? MAX_FRAME_BYTES,
      stallMs: opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    };
    this.ws = new opts.WebSocket(opts.url);
    this.ws.binaryType = 'arraybuffer';
    this.ws.onmessage = (event) => this.wsOnMessage(event.data);
    this.ws.onclose = (event) => this.socketClosed(event.code);
    // The W3C API says nothing about why: the close event that follows carries the code.
    this.ws.onerror = () => {
      if (this.relayName === '') this.end(createError('RELAY_UNREACHABLE', `cannot reach the relay at ${opts.url}`));
    };
  }

  async sendData(frame: Uint8Array): Promise<void> {
    if (!this.pipeOpen) throw createError('RELAY_PROTOCOL', 'sendData before the pipe is open');
    this.throwIfEnded();
    this.ws.send(frame);
    let pollMs = 1;
    while (this.ws.bufferedAmount > this.limits.hwm) {
      const wait = pollMs;
      await this.ending.until<void>((resolve) => setTimeout(resolve, wait));
      pollMs = Math.min(pollMs * 2, DRAIN_POLL_MS);
    }
  }

  get queuedDataBytes(): number {
    return this.queued;
  }

  protected whenOpen(resolve: () => void): void {
    this.ws.onopen = () => resolve();
  }

  protected sendText(text: string): void {
    this.ws.send(text);
  }

  protected shiftFrame(): Uint8Array | undefined {
    const frame = this.frames.shift();
    if (frame !== undefined) this.queued -= frame.length;
    return frame;
  }

  protected shut(): boolean {
    // Nothing is sent once closing began (a ping now would throw from the timer: the page's uncaught error).
    clearInterval(this.pinger);
    const open = this.ws.readyState === OPEN;
    this.ws.close(1000);
    if (open) unref(setTimeout(() => this.settle(), CLOSE_WAIT_MS));
    return open;
  }

  /** Pings the relay and drops it once it was silent for a whole stall timeout. */
  protected override afterWelcome(): void {
    const { stallMs } = this.limits;
    this.pinger = setInterval(
      () => {
        if (performance.now() - this.heardAt < stallMs) return this.send(encodeClientMessage({ type: 'ping' }));
        const seconds = stallMs / 1000;
        this.end(createError('RELAY_UNREACHABLE', `the relay stopped answering (nothing from it for ${seconds} s)`));
      },
      Math.max(stallMs / 4, PING_REFILL_MS),
    );
    unref(this.pinger);
  }

  protected override afterEnd(): void {
    clearInterval(this.pinger);
  }

  private wsOnMessage(data: unknown): void {
    this.heardAt = performance.now();
    if (data instanceof ArrayBuffer) return this.takeFrame(new Uint8Array(data));
    if (typeof data !== 'string') return void this.fail(createError('RELAY_PROTOCOL', 'unexpected message type'));
    this.textArrived(data);
  }

  private takeFrame(frame: Uint8Array): void {
    if (!this.frameAllowed()) return;
    if (frame.length > this.limits.frame)
      return void this.fail(createError('MESSAGE_TOO_BIG', 'the relay sent a frame larger than this client accepts'));
    if (this.queued + frame.length > this.limits.queue) {
      const held = `${Math.round(this.limits.queue / MiB)} MiB`;
      return void this.fail(createError('PROTOCOL', `the peer sent more than ${held} of data nobody acknowledged`));
    }
    this.frames.push(frame);
    this.queued += frame.length;
    this.changes.wake();
  }
}
