/**
 * The relay conversation of @portunus/client (relay-conversation.ts) over Node's ws: what ws adds is backpressure
 * both ways (a slow consumer pauses the socket, data-inbox.ts; sendData waits for the kernel), WebSocket pings
 * (keepalive.ts), TLS with the user's CAs, and errors that say which of TCP, TLS or HTTP failed.
 */
import type WebSocketType from 'ws';
import { webSocket } from '../lazy-deps.js';
import { createError, MAX_FRAME_BYTES } from '@portunus/protocol';
import { DEFAULT_STALL_TIMEOUT_MS, RelayConversation } from '@portunus/client';
import type { RelayClientOptions } from './client.js';
import { errorForResponse, errorForSocket } from './close-error.js';
import { relayEndpoint } from './endpoint.js';
import { DataInbox, DEFAULT_HIGH_WATER_BYTES } from './data-inbox.js';
import { Keepalive } from './keepalive.js';
import { relayTls, type RelayTls } from './tls.js';

const WebSocket = webSocket();

/** How long closing waits for the relay's side of the closing handshake before the socket is torn down. */
const CLOSE_WAIT_MS = 2000;

export class WsRelayClient extends RelayConversation {
  private readonly ws: WebSocketType;
  private keepalive: Keepalive | undefined;
  private readonly data: DataInbox;
  private readonly tls: RelayTls;

  constructor(private readonly opts: RelayClientOptions) {
    super(opts);
    const endpoint = relayEndpoint(opts.url);
    this.tls = relayTls(endpoint, opts.ca);
    this.ws = new WebSocket(endpoint, {
      ...this.tls.socketOptions,
      perMessageDeflate: false, // data is ciphertext: compression would only cost CPU
      maxPayload: Math.max(this.maxMessageBytes, opts.maxFrameBytes ?? MAX_FRAME_BYTES),
      handshakeTimeout: this.connectTimeoutMs,
      // RFC 6455 masking keeps attacker-chosen bytes (script in a browser) from looking like HTTP to a caching proxy.
      // Everything this client sends is ciphertext or JSON it wrote itself, so there is nothing to disguise; a zero
      // mask lets ws skip masking, which otherwise copies every data frame once more (measured: ~0.6 CPU-s per GB).
      generateMask: (mask: Buffer) => void mask.fill(0),
    });
    this.data = new DataInbox(this.ws, opts.highWaterMark ?? DEFAULT_HIGH_WATER_BYTES);
    this.ws.on('message', (data, isBinary) => this.wsOnMessage(data as Buffer, isBinary));
    this.ws.on('close', (code) => this.socketClosed(code));
    this.ws.on('error', (err) => this.wsOnError(err));
    this.ws.on('unexpected-response', (req, res) => {
      res.destroy();
      req.destroy();
      this.end(errorForResponse(res.statusCode ?? 0, opts.url));
    });
  }

  async sendData(frame: Uint8Array): Promise<void> {
    if (!this.pipeOpen) throw createError('RELAY_PROTOCOL', 'sendData before the pipe is open');
    this.throwIfEnded();
    const room = this.ws.bufferedAmount + frame.length <= this.data.highWaterMark;
    if (room) return void this.ws.send(frame, { binary: true });
    // Wait until this frame has reached the kernel: everything queued before it has too.
    await this.ending.until<void>((resolve) => this.ws.send(frame, { binary: true }, () => resolve()));
  }

  get queuedDataBytes(): number {
    return this.data.bytes;
  }

  protected whenOpen(resolve: () => void): void {
    this.ws.once('open', () => resolve());
  }

  protected override afterOpen(): void {
    const stallMs = this.opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.keepalive = new Keepalive(this.ws, stallMs, (silent) => this.end(silent));
  }

  protected override afterEnd(): void {
    this.keepalive?.stop();
  }

  protected sendText(text: string): void {
    this.ws.send(text);
  }

  protected shiftFrame(): Uint8Array | undefined {
    return this.data.shift();
  }

  /** Closes the socket: with a closing handshake when open (torn down after CLOSE_WAIT_MS), else at once. */
  protected shut(): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) {
      this.ws.terminate();
      return false;
    }
    this.ws.resume(); // a paused socket could not read the closing handshake
    this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), CLOSE_WAIT_MS).unref();
    return true;
  }

  private wsOnMessage(data: Buffer, isBinary: boolean): void {
    this.keepalive?.heard();
    if (!isBinary) return this.textArrived(data.toString('utf8'));
    if (!this.frameAllowed()) return;
    this.data.push(data);
    this.changes.wake();
  }

  private wsOnError(err: Error & { code?: string }): void {
    const connecting = this.ws.readyState === WebSocket.CONNECTING || this.relayName === '';
    const error = errorForSocket(err, connecting, this.opts.url, this.tls);
    // Before the welcome the error ends the connection; later ws closes the socket next, and that close reports it.
    if (connecting) this.end(error);
    else this.ending.cause ??= error;
  }
}
