/**
 * The RelayClient over a W3C WebSocket: the page's (the browser's own), or any object with that API (Node tests pass
 * the `ws` package's). It behaves as the CLI's client does (cli/src/relay-client/ws-relay-client.ts) where the API
 * allows, and differs where the browser forces it:
 * - Receiving cannot pause: a browser WebSocket reads whatever arrives. What bounds inbound data is the sender's
 *   retransmit window (switching-send.ts WINDOW_BYTES): a conforming sender never has more than that unacknowledged,
 *   and the receiver acknowledges only what it wrote. Queued data beyond `maxQueuedDataBytes` (twice the window) is
 *   a peer that ignores acks, and ends the connection with a PROTOCOL error rather than a queue that grows.
 * - Sending has no drain event: sendData waits while `bufferedAmount` is above the high-water mark, polled every
 *   DRAIN_POLL_MS at most.
 * - No WebSocket pings reach script: the relay is asked with `ping` messages (PROTOCOL.md §2.8), a quarter of the
 *   stall timeout apart (never more often than the relay's allowance refills), and dropped (RELAY_UNREACHABLE) once
 *   nothing at all came from it for a whole stall timeout.
 */
import {
  createError,
  encodeClientMessage,
  isParseError,
  MAX_FRAME_BYTES,
  parseRelayMessage,
  PING_REFILL_MS,
  PortunusError,
  SUPPORTED_VERSIONS,
  toBase64Url,
  type ClientToRelay,
  type RelayToClient,
} from '@portunus/protocol';
import { abortError, errorForClose } from './close-error.js';
import { ConnectionEnd } from './connection-end.js';
import { PeerInbox } from './peer-inbox.js';
import { PendingReplies, type Reply } from './pending-replies.js';
import type { PeerEvent, RelayClient, RelaySide } from './relay-client.js';
import {
  BROWSER_HIGH_WATER_BYTES,
  type BrowserRelayClientOptions,
  DRAIN_POLL_MS,
  MAX_QUEUED_DATA_BYTES,
  type W3CWebSocket,
} from './browser-relay-options.js';
import { DEFAULT_STALL_TIMEOUT_MS } from './stall.js';
import { unref } from './unref.js';
import { Wakeup } from './wakeup.js';

const OPEN = 1;
const MiB = 1024 * 1024;
/** How long close() waits for the relay's side of the closing handshake. */
const CLOSE_WAIT_MS = 2000;

/** Connects, says hello and waits for the welcome; on failure the socket is closed and the error thrown. */
export async function connectBrowserRelay(opts: BrowserRelayClientOptions): Promise<RelayClient> {
  const client = new BrowserRelayClient(opts);
  await client.handshake();
  return client;
}

export class BrowserRelayClient implements RelayClient {
  relayName = '';
  motd: string | undefined;
  servesPage = false;
  private readonly ws: W3CWebSocket;
  private readonly replies = new PendingReplies();
  private readonly peer: PeerInbox;
  private readonly frames: Uint8Array[] = [];
  private queued = 0;
  private readonly changes = new Wakeup();
  private pipeOpen = false;
  private readonly evidence: { relayError?: PortunusError; peerLeft: boolean } = { peerLeft: false };
  private readonly ending = new ConnectionEnd();
  readonly closed = this.ending.closed;
  private readonly limits: { hwm: number; queue: number; message: number; frame: number; stallMs: number };
  /** When something last arrived from the relay (performance.now), and the timer that pings it. */
  private heardAt = performance.now();
  private pinger: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly opts: BrowserRelayClientOptions) {
    this.peer = new PeerInbox(opts.maxQueuedMessages ?? 256, opts.onPairing);
    this.limits = {
      hwm: opts.highWaterMark ?? BROWSER_HIGH_WATER_BYTES,
      queue: opts.maxQueuedDataBytes ?? MAX_QUEUED_DATA_BYTES,
      message: opts.maxMessageBytes ?? MiB,
      frame: opts.maxFrameBytes ?? MAX_FRAME_BYTES,
      stallMs: opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    };
    this.ws = new opts.WebSocket(opts.url);
    this.ws.binaryType = 'arraybuffer';
    this.ws.onmessage = (event) => this.wsOnMessage(event.data);
    this.ws.onclose = (event) => this.wsOnClose(event.code);
    // The W3C API says nothing about why: the close event that follows carries the code.
    this.ws.onerror = () => {
      if (this.relayName === '') this.end(createError('RELAY_UNREACHABLE', `cannot reach the relay at ${opts.url}`));
    };
  }

  /** Connect, hello, welcome — within connectTimeoutMs and the caller's signal. */
  async handshake(): Promise<void> {
    const { signal } = this.opts;
    const onAbort = (): void => this.end(abortError(signal?.reason));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    void this.closed.then(() => signal?.removeEventListener('abort', onAbort));
    const ms = this.opts.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(
      () => this.end(createError('RELAY_UNREACHABLE', `relay did not answer within ${ms} ms`)),
      ms,
    );
    try {
      await this.ending.until<void>((resolve) => (this.ws.onopen = () => resolve()));
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
      this.startKeepalive();
    } catch (err) {
      throw this.fail(err instanceof PortunusError ? err : createError('RELAY_PROTOCOL', String(err), { cause: err }));
    } finally {
      clearTimeout(timer);
    }
  }

  async allocate(): Promise<number> {
    const reply = await this.request('allocated', { type: 'allocate' });
    if (reply.type !== 'allocated') throw this.fail(createError('RELAY_PROTOCOL', 'bad allocate reply'));
    return reply.nameplate;
  }

  async claim(nameplate: number): Promise<{ side: RelaySide }> {
    const reply = await this.request('claimed', { type: 'claim', nameplate });
    if (reply.type !== 'claimed' || reply.nameplate !== nameplate)
      throw this.fail(createError('RELAY_PROTOCOL', 'bad claim reply'));
    return { side: reply.side };
  }

  sendMessage(body: Uint8Array): void {
    const text = encodeClientMessage({ type: 'msg', body: toBase64Url(body) });
    if (text.length > this.limits.message)
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

  async *dataFrames(): AsyncIterable<Uint8Array> {
    for (;;) {
      const frame = this.frames.shift();
      if (frame !== undefined) {
        this.queued -= frame.length;
        yield frame;
      } else if (this.ending.cause === null) return;
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
    this.shut();
    await this.closed;
  }

  private wsOnMessage(data: unknown): void {
    this.heardAt = performance.now();
    if (data instanceof ArrayBuffer) return this.takeFrame(new Uint8Array(data));
    if (typeof data !== 'string') return void this.fail(createError('RELAY_PROTOCOL', 'unexpected message type'));
    if (data.length > this.limits.message)
      return void this.fail(createError('MESSAGE_TOO_BIG', 'the relay sent a message larger than this client accepts'));
    const msg = parseRelayMessage(data);
    if (isParseError(msg)) {
      // Must-ignore: a newer relay may send message types this client does not know.
      if (msg.reason !== 'unknown-type') this.fail(createError('RELAY_PROTOCOL', `bad relay message: ${msg.detail}`));
      return;
    }
    this.dispatch(msg);
  }

  private takeFrame(frame: Uint8Array): void {
    if (!this.pipeOpen) return void this.fail(createError('RELAY_PROTOCOL', 'data frame before pipe-open'));
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
      case 'pong':
        return;
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

  /** Pings the relay and drops it once it was silent for a whole stall timeout. */
  private startKeepalive(): void {
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

  private wsOnClose(code: number): void {
    if (this.ending.cause === undefined) this.ending.cause = errorForClose({ ...this.evidence, code });
    this.settle();
  }

  private end(error: PortunusError): void {
    if (this.ending.cause !== undefined) return;
    this.ending.cause = error;
    this.shut();
  }

  /**
   * Starts the closing handshake; the close event settles the end. A browser cannot tear a socket down, so a relay
   * that never answers is given CLOSE_WAIT_MS before the end settles without it.
   */
  private shut(): void {
    const open = this.ws.readyState === OPEN;
    this.ws.close(1000);
    if (!open) return this.settle();
    unref(setTimeout(() => this.settle(), CLOSE_WAIT_MS));
  }

  private fail(error: PortunusError): PortunusError {
    this.end(error);
    return error;
  }

  private settle(): void {
    if (!this.ending.settle()) return;
    this.replies.rejectAll(this.ending.error);
    clearInterval(this.pinger);
    this.changes.wake();
  }

  private async somethingNew(): Promise<void> {
    if (this.ending.settled) throw this.ending.error;
    await this.changes.next();
  }
}
