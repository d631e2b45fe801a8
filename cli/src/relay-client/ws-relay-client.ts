/** The RelayClient over a WebSocket (client.ts says what it promises). */
import WebSocket from 'ws';
import {
  createError,
  encodeClientMessage,
  isParseError,
  MAX_FRAME_BYTES,
  parseRelayMessage,
  PortunusError,
  SUPPORTED_VERSIONS,
  toBase64Url,
  type ClientToRelay,
  type RelayToClient,
} from '@portunus/protocol';
import {
  ConnectionEnd,
  DEFAULT_STALL_TIMEOUT_MS,
  type PeerEvent,
  PeerInbox,
  PendingReplies,
  type RelayClient,
  type RelaySide,
  type Reply,
  Wakeup,
} from '@portunus/client';
import type { RelayClientOptions } from './client.js';
import { abortError, errorForClose, errorForResponse, errorForSocket } from './close-error.js';
import { relayEndpoint } from './endpoint.js';
import { DataInbox, DEFAULT_HIGH_WATER_BYTES } from './data-inbox.js';
import { Keepalive } from './keepalive.js';
import { relayTls, type RelayTls } from './tls.js';

const MiB = 1024 * 1024;
const CLOSE_WAIT_MS = 2000;

export class WsRelayClient implements RelayClient {
  relayName = '';
  motd: string | undefined;
  servesPage = false;
  private readonly ws: WebSocket;
  private readonly maxMessageBytes: number;
  private readonly replies = new PendingReplies();
  private readonly peer: PeerInbox;
  private keepalive: Keepalive | undefined;
  private readonly data: DataInbox;
  private readonly changes = new Wakeup();
  private pipeOpen = false;
  /** What the relay said before closing: its `error`, and whether the peer left (close-error.ts). */
  private readonly evidence: { relayError?: PortunusError; peerLeft: boolean } = { peerLeft: false };
  private readonly ending = new ConnectionEnd();
  readonly closed = this.ending.closed;
  private readonly connectTimeoutMs: number;
  private readonly tls: RelayTls;

  constructor(private readonly opts: RelayClientOptions) {
    this.maxMessageBytes = opts.maxMessageBytes ?? MiB;
    this.peer = new PeerInbox(opts.maxQueuedMessages ?? 256, opts.onPairing);
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
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
    this.ws.on('close', (code) => this.wsOnClose(code));
    this.ws.on('error', (err) => this.wsOnError(err));
    this.ws.on('unexpected-response', (req, res) => {
      res.destroy();
      req.destroy();
      this.end(errorForResponse(res.statusCode ?? 0, opts.url));
    });
  }

  /** Connect, hello, welcome — all within connectTimeoutMs and the caller's signal; on failure the socket is closed. */
  async handshake(): Promise<void> {
    const { signal } = this.opts;
    // Aborting ends the connection (and every pending call with it), during the handshake and after.
    const onAbort = (): void => this.end(abortError(signal?.reason));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    void this.closed.then(() => signal?.removeEventListener('abort', onAbort));
    const timer = setTimeout(
      () => this.end(createError('RELAY_UNREACHABLE', `relay did not answer within ${this.connectTimeoutMs} ms`)),
      this.connectTimeoutMs,
    );
    try {
      await this.ending.until<void>((resolve) => this.ws.once('open', () => resolve()));
      const stallMs = this.opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
      this.keepalive = new Keepalive(this.ws, stallMs, (silent) => this.end(silent));
      const welcome = await this.request('welcome', {
        type: 'hello',
        protocol: SUPPORTED_VERSIONS[0]!,
        agent: this.opts.agent,
      });
      if (welcome.type !== 'welcome') throw createError('RELAY_PROTOCOL', 'expected welcome');
      if (!SUPPORTED_VERSIONS.includes(welcome.protocol)) {
        throw createError('RELAY_INCOMPATIBLE', `relay speaks protocol ${welcome.protocol}`);
      }
      this.relayName = welcome.relay;
      this.motd = welcome.motd;
      this.servesPage = welcome.page === true;
    } catch (err) {
      throw this.fail(err instanceof PortunusError ? err : createError('RELAY_PROTOCOL', String(err), { cause: err }));
    } finally {
      clearTimeout(timer);
    }
  }

  async allocate(): Promise<number> {
    const reply = await this.request('allocated', { type: 'allocate' });
    return reply.type === 'allocated' ? reply.nameplate : Promise.reject(createError('RELAY_PROTOCOL', 'bad reply'));
  }

  async claim(nameplate: number): Promise<{ side: RelaySide }> {
    const reply = await this.request('claimed', { type: 'claim', nameplate });
    if (reply.type !== 'claimed' || reply.nameplate !== nameplate)
      throw this.fail(createError('RELAY_PROTOCOL', 'bad claim reply'));
    return { side: reply.side };
  }

  sendMessage(body: Uint8Array): void {
    const text = encodeClientMessage({ type: 'msg', body: toBase64Url(body) });
    if (text.length > this.maxMessageBytes)
      throw createError('MESSAGE_TOO_BIG', `message of ${body.length} bytes exceeds the relay limit`);
    this.send(text);
  }

  async nextEvent(): Promise<PeerEvent> {
    for (;;) {
      const event = this.peer.shift();
      if (event !== undefined) return event;
      await this.somethingNew();
    }
  }

  async openPipe(): Promise<void> {
    if (this.pipeOpen) return;
    await (this.replies.pending('pipe-open') ?? this.request('pipe-open', { type: 'pipe' }));
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

  async *dataFrames(): AsyncIterable<Uint8Array> {
    for (;;) {
      const frame = this.data.shift();
      if (frame !== undefined) yield frame;
      else if (this.ending.cause === null) return;
      else await this.somethingNew();
    }
  }

  burn(): void {
    if (this.ending.cause === undefined) this.send(encodeClientMessage({ type: 'burn' }));
  }

  reportDone(ok: boolean): void {
    if (this.ending.cause === undefined) this.send(encodeClientMessage({ type: 'done', ok }));
  }

  async close(): Promise<void> {
    if (this.ending.cause !== undefined) return;
    this.ending.cause = null;
    // Open: settled by the close event, once the relay has answered the closing handshake (or CLOSE_WAIT_MS passed).
    if (!this.shut()) this.settle();
    await this.closed;
  }

  private wsOnMessage(data: Buffer, isBinary: boolean): void {
    this.keepalive?.heard();
    if (isBinary) {
      if (!this.pipeOpen) return void this.fail(createError('RELAY_PROTOCOL', 'data frame before pipe-open'));
      this.data.push(data);
      return this.changes.wake();
    }
    const msg = parseRelayMessage(data.toString('utf8'));
    if (isParseError(msg)) {
      // Must-ignore: a newer relay may send message types this client does not know.
      if (msg.reason !== 'unknown-type') this.fail(createError('RELAY_PROTOCOL', `bad relay message: ${msg.detail}`));
      return;
    }
    this.dispatch(msg);
  }

  private dispatch(msg: RelayToClient): void {
    switch (msg.type) {
      case 'welcome':
      case 'allocated':
      case 'claimed':
        return this.reply(msg.type, msg);
      case 'pipe-open':
        this.pipeOpen = true;
        return this.reply(msg.type, msg);
      case 'paired':
      case 'unpaired':
      case 'msg': {
        const broken = this.peer.take(msg);
        return void (broken === undefined ? this.changes.wake() : this.fail(broken));
      }
      case 'peer-left':
        return void (this.evidence.peerLeft = true);
      case 'error':
        this.evidence.relayError ??= createError(msg.code, msg.message);
        return this.replies.rejectAll(this.evidence.relayError);
    }
  }

  private reply(type: Reply, msg: RelayToClient): void {
    if (!this.replies.settle(type, msg)) this.fail(createError('RELAY_PROTOCOL', `unexpected ${type} from the relay`));
  }

  /** Sends `msg` and waits for the reply of type `type` (or the connection's end). */
  private request(type: Reply, msg: ClientToRelay): Promise<RelayToClient> {
    this.throwIfEnded();
    const reply = this.replies.expect(type);
    this.send(encodeClientMessage(msg));
    return reply;
  }

  private send(text: string): void {
    this.throwIfEnded();
    this.ws.send(text);
  }

  private throwIfEnded(): void {
    if (this.ending.cause !== undefined) throw this.ending.error;
  }

  private wsOnError(err: Error & { code?: string }): void {
    const connecting = this.ws.readyState === WebSocket.CONNECTING || this.relayName === '';
    const error = errorForSocket(err, connecting, this.opts.url, this.tls);
    // Before the welcome the error ends the connection; later ws closes the socket next, and that close reports it.
    if (connecting) this.end(error);
    else this.ending.cause ??= error;
  }

  private wsOnClose(code: number): void {
    if (this.ending.cause === undefined) this.ending.cause = errorForClose({ ...this.evidence, code });
    this.settle();
  }

  /** Ends the connection with `error` (first cause wins) and closes the socket. */
  private end(error: PortunusError): void {
    if (this.ending.cause !== undefined) return;
    this.ending.cause = error;
    this.shut();
    this.settle();
  }

  /** Closes the socket: with a closing handshake when open (forcibly after CLOSE_WAIT_MS), else at once. */
  private shut(): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) {
      this.ws.terminate();
      return false;
    }
    this.ws.resume(); // a paused socket could not read the closing handshake
    this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), CLOSE_WAIT_MS).unref();
    return true;
  }

  /** A protocol violation by the relay or the peer: end the connection, return the error for throwing. */
  private fail(error: PortunusError): PortunusError {
    this.end(error);
    return error;
  }

  private settle(): void {
    if (!this.ending.settle()) return;
    this.replies.rejectAll(this.ending.error);
    this.keepalive?.stop();
    this.changes.wake();
  }

  /** Waits for the next queued event/frame or the end; throws the end's error once nothing is left. */
  private async somethingNew(): Promise<void> {
    if (this.ending.settled) throw this.ending.error;
    await this.changes.next();
  }
}
