/**
 * Client side of the relay protocol (PROTOCOL.md §2): connect and say hello, allocate or claim a nameplate,
 * exchange opaque peer messages, open the data pipe and move binary frames with backpressure both ways.
 *
 * Every failure surfaces as a PortunusError: the relay's `error` message when it sent one, else its close code
 * (errorCodeForClose), else RELAY_UNREACHABLE for a lost connection. Incoming peer messages and data frames wait in
 * separate bounded queues; a full data queue pauses the socket, so a slow consumer slows the relay, which slows
 * the sender. The peer flooding messages nobody reads is a protocol error (the queue never grows without bound).
 */
import WebSocket from 'ws';
import { abortError, errorForClose } from './close-error.js';
import { relayEndpoint } from './endpoint.js';
import { Wakeup } from '../util/wakeup.js';
import { relayTls, type RelayTls } from './tls.js';
import { DEFAULT_STALL_TIMEOUT_MS } from '../transfer/stall.js';
import {
  createError,
  fromBase64Url,
  toBase64Url,
  SUPPORTED_VERSIONS,
  RELAY_PATH,
  PortunusError,
  MAX_FRAME_BYTES,
  type IceServer,
  encodeClientMessage,
  isParseError,
  parseRelayMessage,
  type ClientToRelay,
  type RelayToClient,
} from '@portunus/protocol';

export { relayEndpoint } from './endpoint.js';

export type RelaySide = 'a' | 'b';

/** What `paired` tells a client: the session id, its side, and the ICE servers the relay offers (if any). */
export interface Paired {
  sid: Uint8Array;
  side: RelaySide;
  ice?: IceServer[];
}

/**
 * What the relay says about the peer, in the order it said it (PROTOCOL.md §2.4): paired, the peer's messages, and
 * `unpaired` when a peer left before the key exchange completed (a new `paired` may follow).
 */
export type PeerEvent =
  { type: 'paired'; paired: Paired } | { type: 'message'; body: Uint8Array } | { type: 'unpaired' };

export interface RelayClientOptions {
  /** ws:// or wss:// (or http://, https://) URL of the relay; a bare host URL (no path) gets RELAY_PATH appended. */
  url: string;
  /** PEM certificates a wss:// relay's certificate may chain to, besides Node's default roots (--ca). */
  ca?: readonly string[];
  /** Sent in hello, e.g. "portunus/0.1.0". */
  agent: string;
  /** Bound on TCP + TLS + upgrade + hello/welcome (default 10 s). */
  connectTimeoutMs?: number;
  /** Aborting closes the connection; pending calls reject. */
  signal?: AbortSignal;
  /**
   * Bytes queued on the socket before sendData waits, and received bytes queued before the socket is paused
   * (default DEFAULT_HIGH_WATER_BYTES).
   */
  highWaterMark?: number;
  /** Largest control message this client sends or accepts (default 1 MiB, the relay's default). */
  maxMessageBytes?: number;
  /** Largest data frame accepted (default 1 MiB, the relay's default). */
  maxFrameBytes?: number;
  /** Peer events held unread before the peer counts as flooding (default 256). */
  maxQueuedMessages?: number;
  /**
   * Keepalive: a relay from which nothing (no pong, no message, no frame) arrived for this long is dropped as
   * unreachable (RELAY_UNREACHABLE); a WebSocket ping goes out every quarter of it. The transfer's stall timeout
   * (default DEFAULT_STALL_TIMEOUT_MS).
   */
  stallTimeoutMs?: number;
  /** Told when the room is paired (true) and when it waits again after `unpaired` (false). */
  onPairing?(paired: boolean): void;
}

export interface RelayClient {
  readonly relayName: string;
  readonly motd: string | undefined;
  allocate(): Promise<number>;
  claim(nameplate: number): Promise<{ side: RelaySide }>;
  sendMessage(body: Uint8Array): void;
  /** The next event about the peer; rejects once the connection has closed and no event is left. */
  nextEvent(): Promise<PeerEvent>;
  openPipe(): Promise<void>;
  /**
   * Resolves once the socket's queue is below the high-water mark. The frame is sent without a copy: the caller
   * must not modify it afterwards (sealed frames are fresh buffers, so this holds on the data path).
   */
  sendData(frame: Uint8Array): Promise<void>;
  dataFrames(): AsyncIterable<Uint8Array>;
  /** Bytes of data frames received but not yet consumed: bounded by highWaterMark plus one socket read. */
  readonly queuedDataBytes: number;
  burn(): void;
  reportDone(ok: boolean): void;
  close(): Promise<void>;
  /** Resolves when the connection has closed: undefined after close(), else the error that ended it. */
  readonly closed: Promise<PortunusError | undefined>;
}

const MiB = 1024 * 1024;
/**
 * Four 1 MiB frames each way: at one frame, every frame paused and resumed the socket. Measured, 1 GiB through a
 * local relay (alternating runs): 3.3-3.8 s -> 3.1-3.75 s, receiver user CPU 1.8-1.9 -> 1.5-1.8 s, RSS within 10 MB.
 */
export const DEFAULT_HIGH_WATER_BYTES = 4 * MiB;
const CLOSE_WAIT_MS = 2000;

export async function connectRelay(opts: RelayClientOptions): Promise<RelayClient> {
  const client = new WsRelayClient(opts);
  await client.handshake();
  return client;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: PortunusError): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: PortunusError) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => {}); // rejections reach whoever awaits; nobody awaiting is not an error
  return { promise, resolve, reject };
}

type Reply = 'welcome' | 'allocated' | 'claimed' | 'pipe-open';

class WsRelayClient implements RelayClient {
  relayName = '';
  motd: string | undefined;
  readonly closed: Promise<PortunusError | undefined>;
  private readonly ws: WebSocket;
  private readonly hwm: number;
  private readonly maxMessageBytes: number;
  private readonly maxQueuedMessages: number;
  private readonly replies = new Map<Reply, Deferred<RelayToClient>>();
  private readonly events: PeerEvent[] = [];
  private pairedNow = false;
  /** When something last arrived from the relay (performance.now). */
  private heardAt = performance.now();
  private pinger: NodeJS.Timeout | undefined;
  private readonly frames: Uint8Array[] = [];
  private framesBytes = 0;
  private readonly changes = new Wakeup();
  private pipeOpen = false;
  private relayError: PortunusError | undefined;
  private peerLeft = false;
  private endedBy: PortunusError | null | undefined; // undefined while open, null when closed by us
  private settleClosed!: (err: PortunusError | undefined) => void;
  private settled = false;
  private readonly endWaiters = new Set<(err: PortunusError) => void>();
  private readonly connectTimeoutMs: number;
  private readonly tls: RelayTls;

  constructor(private readonly opts: RelayClientOptions) {
    this.hwm = opts.highWaterMark ?? DEFAULT_HIGH_WATER_BYTES;
    this.maxMessageBytes = opts.maxMessageBytes ?? MiB;
    this.maxQueuedMessages = opts.maxQueuedMessages ?? 256;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.closed = new Promise((resolve) => (this.settleClosed = resolve));
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
    this.ws.on('message', (data, isBinary) => this.wsOnMessage(data as Buffer, isBinary));
    this.ws.on('close', (code) => this.wsOnClose(code));
    this.ws.on('error', (err) => this.wsOnError(err));
    this.ws.on('unexpected-response', (req, res) => {
      const status = res.statusCode ?? 0;
      res.destroy();
      req.destroy();
      this.end(
        status === 404
          ? createError('RELAY_INCOMPATIBLE', `no Portunus ${RELAY_PATH} endpoint at ${opts.url} (HTTP 404)`)
          : createError('RELAY_UNREACHABLE', `relay refused the connection (HTTP ${status})`),
      );
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
      await this.untilEnd<void>((resolve) => this.ws.once('open', () => resolve()));
      this.startKeepalive();
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
      const event = this.events.shift();
      if (event !== undefined) return event;
      await this.somethingNew();
    }
  }

  async openPipe(): Promise<void> {
    if (this.pipeOpen) return;
    await (this.replies.get('pipe-open')?.promise ?? this.request('pipe-open', { type: 'pipe' }));
  }

  async sendData(frame: Uint8Array): Promise<void> {
    if (!this.pipeOpen) throw createError('RELAY_PROTOCOL', 'sendData before the pipe is open');
    this.throwIfEnded();
    if (this.ws.bufferedAmount + frame.length <= this.hwm) {
      this.ws.send(frame, { binary: true });
      return;
    }
    // Wait until this frame has reached the kernel: everything queued before it has too.
    await this.untilEnd<void>((resolve) => this.ws.send(frame, { binary: true }, () => resolve()));
  }

  get queuedDataBytes(): number {
    return this.framesBytes;
  }

  async *dataFrames(): AsyncIterable<Uint8Array> {
    for (;;) {
      const frame = this.frames.shift();
      if (frame === undefined) {
        if (this.endedBy === null) return;
        await this.somethingNew();
        continue;
      }
      this.framesBytes -= frame.length;
      if (this.ws.isPaused && this.framesBytes <= this.hwm / 2) this.ws.resume();
      yield frame;
    }
  }

  burn(): void {
    if (this.endedBy === undefined) this.send(encodeClientMessage({ type: 'burn' }));
  }

  reportDone(ok: boolean): void {
    if (this.endedBy === undefined) this.send(encodeClientMessage({ type: 'done', ok }));
  }

  async close(): Promise<void> {
    if (this.endedBy !== undefined) return;
    this.endedBy = null;
    if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.resume();
      this.ws.close(1000);
      const timer = setTimeout(() => this.ws.terminate(), CLOSE_WAIT_MS);
      await this.closed;
      clearTimeout(timer);
    } else {
      this.ws.terminate();
      this.settle();
    }
  }

  private wsOnMessage(data: Buffer, isBinary: boolean): void {
    this.heardAt = performance.now();
    if (isBinary) {
      if (!this.pipeOpen) return void this.fail(createError('RELAY_PROTOCOL', 'data frame before pipe-open'));
      this.frames.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
      this.framesBytes += data.length;
      if (this.framesBytes > this.hwm) this.ws.pause();
      return this.notify();
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
      case 'paired': {
        if (this.pairedNow) return void this.fail(createError('RELAY_PROTOCOL', 'paired twice'));
        this.pairedNow = true;
        this.opts.onPairing?.(true);
        return this.queue({
          type: 'paired',
          paired: { sid: msg.sid, side: msg.side, ...(msg.ice === undefined ? {} : { ice: msg.ice }) },
        });
      }
      case 'unpaired':
        if (!this.pairedNow) return void this.fail(createError('RELAY_PROTOCOL', 'unpaired while not paired'));
        this.pairedNow = false;
        this.opts.onPairing?.(false);
        return this.queue({ type: 'unpaired' });
      case 'msg':
        return this.queue({ type: 'message', body: fromBase64Url(msg.body)! }); // parseRelayMessage checked it is canonical base64url
      case 'peer-left':
        this.peerLeft = true;
        return;
      case 'error':
        this.relayError ??= createError(msg.code, msg.message);
        return this.rejectPending(this.relayError);
    }
  }

  private queue(event: PeerEvent): void {
    if (this.events.length >= this.maxQueuedMessages)
      return void this.fail(createError('PROTOCOL', 'the peer sent too many messages'));
    this.events.push(event);
    this.notify();
  }

  private reply(type: Reply, msg: RelayToClient): void {
    const pending = this.replies.get(type);
    if (pending === undefined)
      return void this.fail(createError('RELAY_PROTOCOL', `unexpected ${type} from the relay`));
    this.replies.delete(type);
    pending.resolve(msg);
  }

  /** Sends `msg` and waits for the reply of type `type` (or the connection's end). */
  private request(type: Reply, msg: ClientToRelay): Promise<RelayToClient> {
    this.throwIfEnded();
    if (this.replies.has(type)) throw createError('INTERNAL', `a ${msg.type} request is already pending`);
    const pending = deferred<RelayToClient>();
    this.replies.set(type, pending);
    this.send(encodeClientMessage(msg));
    return pending.promise;
  }

  private send(text: string): void {
    this.throwIfEnded();
    this.ws.send(text);
  }

  private throwIfEnded(): void {
    if (this.endedBy !== undefined) throw this.endedBy ?? createError('INTERRUPTED', 'relay connection closed');
  }

  /**
   * Pings the relay and drops it once nothing came from it for a whole stall timeout: a relay (or a network path)
   * that stopped answering but keeps the socket open would otherwise hold every wait forever. Not while this side
   * paused reading (its own consumer is slow: the pongs wait unread behind the data).
   */
  private startKeepalive(): void {
    const stallMs = this.opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.ws.on('pong', () => (this.heardAt = performance.now()));
    this.pinger = setInterval(() => {
      if (this.ws.isPaused) this.heardAt = performance.now();
      if (performance.now() - this.heardAt >= stallMs) {
        return this.end(
          createError('RELAY_UNREACHABLE', `the relay stopped answering (nothing from it for ${stallMs / 1000} s)`),
        );
      }
      this.ws.ping();
    }, stallMs / 4);
    this.pinger.unref();
  }

  private wsOnError(err: Error & { code?: string }): void {
    if (this.ws.readyState === WebSocket.CONNECTING || this.relayName === '') {
      this.end(
        this.tls.explain(err) ??
          createError('RELAY_UNREACHABLE', `cannot reach the relay at ${this.opts.url}: ${err.code ?? err.message}`, {
            cause: err,
          }),
      );
    } else if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      this.endedBy ??= createError('MESSAGE_TOO_BIG', 'the relay sent a frame larger than this client accepts');
    } else {
      this.endedBy ??= createError('RELAY_PROTOCOL', `relay connection error: ${err.code ?? err.message}`, {
        cause: err,
      });
    }
  }

  private wsOnClose(code: number): void {
    if (this.endedBy === undefined)
      this.endedBy = errorForClose({ relayError: this.relayError, peerLeft: this.peerLeft, code });
    this.settle();
  }

  /** Ends the connection with `error` (first cause wins) and closes the socket. */
  private end(error: PortunusError): void {
    if (this.endedBy !== undefined) return;
    this.endedBy = error;
    if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.resume(); // a paused socket could not read the closing handshake
      this.ws.close(1000);
      setTimeout(() => this.ws.terminate(), CLOSE_WAIT_MS).unref();
    } else {
      this.ws.terminate();
    }
    this.settle();
  }

  /** A protocol violation by the relay or the peer: end the connection, return the error for throwing. */
  private fail(error: PortunusError): PortunusError {
    this.end(error);
    return error;
  }

  /** Runs `start`, resolving with what it reports, or rejecting when the connection ends first. */
  private untilEnd<T>(start: (resolve: (value: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onEnd = (err: PortunusError): void => reject(err);
      this.endWaiters.add(onEnd);
      start((value) => {
        this.endWaiters.delete(onEnd);
        resolve(value);
      });
    });
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    const error = this.endedBy ?? undefined;
    const reason = error ?? createError('INTERRUPTED', 'relay connection closed');
    for (const onEnd of this.endWaiters) onEnd(reason);
    this.endWaiters.clear();
    this.rejectPending(reason);
    clearInterval(this.pinger);
    this.settleClosed(error);
    this.notify();
  }

  private rejectPending(error: PortunusError): void {
    for (const pending of this.replies.values()) pending.reject(error);
    this.replies.clear();
  }

  private notify(): void {
    this.changes.wake();
  }

  /** Waits for the next queued event/frame or the end; throws the end's error once nothing is left. */
  private async somethingNew(): Promise<void> {
    if (this.settled) throw this.endedBy ?? createError('INTERRUPTED', 'relay connection closed');
    await this.changes.next();
  }
}
