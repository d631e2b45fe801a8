/**
 * The conversation with a relay (PROTOCOL.md §2), whatever carries it: hello and welcome, allocate and claim, peer
 * messages, the pipe, burn and done, and what the connection's end means. The socket adapters say only what their
 * WebSocket API forces on them: the CLI's over Node's ws (cli/src/relay-client/ws-relay-client.ts: pauses a socket
 * whose consumer is slow, WebSocket pings) and the page's over the W3C API (browser-relay-client.ts: cannot pause,
 * polls bufferedAmount, `ping` messages).
 */
import {
  createError,
  encodeClientMessage,
  isParseError,
  parseRelayMessage,
  PortunusError,
  RECONNECT_ID_BYTES,
  SUPPORTED_VERSIONS,
  toBase64Url,
  type ClientToRelay,
  type RelayToClient,
} from '@portunus/protocol';
import { abortError, errorForClose } from './close-error.js';
import { ConnectionEnd } from './connection-end.js';
import type { ConversationOptions } from './conversation-options.js';
import { PeerInbox } from './peer-inbox.js';
import { PendingReplies, type Reply } from './pending-replies.js';
import type { PeerEvent, RelayClient, RelaySide } from './relay-client.js';
import { Wakeup } from './wakeup.js';

export abstract class RelayConversation implements RelayClient {
  relayName = '';
  motd: string | undefined;
  servesPage = false;
  seatToken: string | undefined;
  /** Whether the relay said `pipe-open`: data frames before it break the protocol. */
  protected pipeOpen = false;
  /** Woken by every new peer event, data frame and the end. */
  protected readonly changes = new Wakeup();
  protected readonly ending = new ConnectionEnd();
  readonly closed = this.ending.closed;
  protected readonly maxMessageBytes: number;
  protected readonly connectTimeoutMs: number;
  private readonly replies = new PendingReplies();
  private readonly peer: PeerInbox;
  /** What the relay said before closing: its `error`, and whether the peer left (close-error.ts). */
  private readonly evidence: { relayError?: PortunusError; peerLeft: boolean; peerLost: boolean } = {
    peerLeft: false,
    peerLost: false,
  };

  constructor(private readonly conversation: ConversationOptions) {
    this.maxMessageBytes = conversation.maxMessageBytes ?? 1024 * 1024;
    this.connectTimeoutMs = conversation.connectTimeoutMs ?? 10_000;
    this.peer = new PeerInbox(conversation.maxQueuedMessages ?? 256, conversation.onPairing);
  }

  // What the socket adapter provides.
  /** Calls `resolve` once the socket is open. */
  protected abstract whenOpen(resolve: () => void): void;
  /** Sends one text message (the connection is open). */
  protected abstract sendText(text: string): void;
  /** The next data frame received and not yet consumed. */
  protected abstract shiftFrame(): Uint8Array | undefined;
  /**
   * Starts closing the socket. True when a closing handshake is under way (its close event, or the adapter's own
   * deadline, settles the end); false when the socket is already gone.
   */
  protected abstract shut(): boolean;
  abstract sendData(frame: Uint8Array): Promise<void>;
  abstract readonly queuedDataBytes: number;
  /** The socket is open, hello not yet sent (the CLI starts WebSocket pings here). */
  protected afterOpen(): void {}
  /** The welcome arrived (the page starts its `ping` messages here). */
  protected afterWelcome(): void {}
  /** The end has settled: stop timers. */
  protected afterEnd(): void {}

  /** Connect, hello, welcome — within connectTimeoutMs and the caller's signal; on failure the socket is closed. */
  async handshake(): Promise<void> {
    const { signal, agent } = this.conversation;
    // Aborting ends the connection (and every pending call with it), during the handshake and after.
    const onAbort = (): void => this.end(abortError(signal?.reason));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    void this.closed.then(() => signal?.removeEventListener('abort', onAbort));
    const ms = this.connectTimeoutMs;
    const timer = setTimeout(
      () => this.end(createError('RELAY_UNREACHABLE', `relay did not answer within ${ms} ms`)),
      ms,
    );
    try {
      await this.ending.until<void>((resolve) => this.whenOpen(resolve));
      this.afterOpen();
      const welcome = await this.request('welcome', { type: 'hello', protocol: SUPPORTED_VERSIONS[0]!, agent });
      if (welcome.type !== 'welcome') throw createError('RELAY_PROTOCOL', 'expected welcome');
      if (!SUPPORTED_VERSIONS.includes(welcome.protocol)) {
        throw createError('RELAY_INCOMPATIBLE', `relay speaks protocol ${welcome.protocol}`);
      }
      this.relayName = welcome.relay;
      this.motd = welcome.motd;
      this.servesPage = welcome.page === true;
      this.afterWelcome();
    } catch (err) {
      throw this.fail(err instanceof PortunusError ? err : createError('RELAY_PROTOCOL', String(err), { cause: err }));
    } finally {
      clearTimeout(timer);
    }
  }

  async allocate(seats = 1): Promise<number> {
    const reply = await this.request('allocated', { type: 'allocate', ...(seats > 1 ? { seats } : {}) });
    if (reply.type !== 'allocated') throw this.fail(createError('RELAY_PROTOCOL', 'bad allocate reply'));
    // A relay without seats ignores the field: it allocated one seat and sent no token (PROTOCOL.md §10).
    if (seats > 1 && reply.token === undefined)
      throw this.fail(createError('RELAY_INCOMPATIBLE', 'this relay has no seats: it cannot serve send --count'));
    this.seatToken = reply.token;
    return reply.nameplate;
  }

  async join(nameplate: number, token: string): Promise<void> {
    const reply = await this.request('claimed', { type: 'join', nameplate, token });
    if (reply.type !== 'claimed' || reply.nameplate !== nameplate || reply.side !== 'a')
      throw this.fail(createError('RELAY_PROTOCOL', 'bad join reply'));
  }

  async claim(nameplate: number): Promise<{ side: RelaySide }> {
    const reply = await this.request('claimed', { type: 'claim', nameplate });
    if (reply.type !== 'claimed' || reply.nameplate !== nameplate)
      throw this.fail(createError('RELAY_PROTOCOL', 'bad claim reply'));
    return { side: reply.side };
  }

  /** Meets the peer of a confirmed session again under `id` (PROTOCOL.md §2.13); resolves with the relay's sid. */
  async reconnect(id: Uint8Array): Promise<Uint8Array> {
    if (id.length !== RECONNECT_ID_BYTES)
      throw createError('INTERNAL', `a reconnect id is ${RECONNECT_ID_BYTES} bytes`);
    const reply = await this.request('reconnected', { type: 'reconnect', id: toBase64Url(id) });
    if (reply.type !== 'reconnected') throw this.fail(createError('RELAY_PROTOCOL', 'bad reconnect reply'));
    return reply.sid;
  }

  get endCause(): PortunusError | null | undefined {
    return this.ending.cause;
  }

  /** The relay said the peer's connection was lost (`peer-left` with `lost`): it may come back (§2.13). */
  get peerLost(): boolean {
    return this.evidence.peerLost;
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

  async *dataFrames(): AsyncIterable<Uint8Array> {
    for (;;) {
      const frame = this.shiftFrame();
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
    if (!this.shut()) this.settle();
    await this.closed;
  }

  /** A text message from the relay: checked, parsed, then handled. */
  protected textArrived(text: string): void {
    if (text.length > this.maxMessageBytes)
      return void this.fail(createError('MESSAGE_TOO_BIG', 'the relay sent a message larger than this client accepts'));
    const msg = parseRelayMessage(text);
    if (isParseError(msg)) {
      // Must-ignore: a newer relay may send message types this client does not know.
      if (msg.reason !== 'unknown-type') this.fail(createError('RELAY_PROTOCOL', `bad relay message: ${msg.detail}`));
      return;
    }
    this.dispatch(msg);
  }

  /** A data frame may be taken only after `pipe-open`; false (and the connection failed) before it. */
  protected frameAllowed(): boolean {
    if (this.pipeOpen) return true;
    this.fail(createError('RELAY_PROTOCOL', 'data frame before pipe-open'));
    return false;
  }

  /** The socket closed: its code explains the end unless something did already. */
  protected socketClosed(code: number): void {
    if (this.ending.cause === undefined) this.ending.cause = errorForClose({ ...this.evidence, code });
    this.settle();
  }

  /** Ends the connection with `error` (first cause wins): the socket closes, every wait rejects now. */
  protected end(error: PortunusError): void {
    if (this.ending.cause !== undefined) return;
    this.ending.cause = error;
    this.shut();
    this.settle();
  }

  /** A protocol violation by the relay or the peer: end the connection, return the error for throwing. */
  protected fail(error: PortunusError): PortunusError {
    this.end(error);
    return error;
  }

  /** Every wait rejects and `closed` resolves (once). */
  protected settle(): void {
    if (!this.ending.settle()) return;
    this.replies.rejectAll(this.ending.error);
    this.afterEnd();
    this.changes.wake();
  }

  protected throwIfEnded(): void {
    if (this.ending.cause !== undefined) throw this.ending.error;
  }

  private dispatch(msg: RelayToClient): void {
    switch (msg.type) {
      case 'welcome':
      case 'allocated':
      case 'claimed':
      case 'reconnected':
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
        this.evidence.peerLost = msg.lost === true;
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

  protected send(text: string): void {
    this.throwIfEnded();
    this.sendText(text);
  }

  /** Waits for the next queued event/frame or the end; throws the end's error once nothing is left. */
  private async somethingNew(): Promise<void> {
    if (this.ending.settled) throw this.ending.error;
    await this.changes.next();
  }
}
