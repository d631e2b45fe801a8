/**
 * The session's control channel (PROTOCOL.md §5.7 "Control messages on direct paths"): the relay connection as
 * before, plus every direct path that is up. Each sealed message goes out on all of them; copies
 * coming back are put in order and deduplicated (ControlOrder) before the session machine sees them. So when the
 * relay connection dies mid-transfer while a direct path is up, the session goes on: the receipts travel direct.
 * The relay's end only ends the session once no direct path is left (or when none ever came up).
 */
import {
  ControlOrder,
  createError,
  type PortunusError,
  type SessionKeys,
  type Side,
  toPortunusError,
} from '@portunus/protocol';
import type { PeerEvent } from './relay-client.js';
import { Wakeup } from './wakeup.js';
import type { Link } from './link.js';
import type { ControlChannel } from './session-hooks.js';

/** Messages received but not yet taken by the session (the relay client's own bound, kept). */
const MAX_INBOX = 256;
/**
 * How long the side that sent the session's last message (the receiver's `received`) keeps its direct paths open for
 * the peer to read it and close them first (PROTOCOL.md §4.9).
 */
export const RECEIPT_LINGER_MS = 2_000;

export class ControlMux implements ControlChannel {
  private order = new ControlOrder();
  private readonly inbox: PeerEvent[] = [];
  private readonly paths = new Set<Link>();
  private relayError: PortunusError | undefined;
  private failure: PortunusError | undefined;
  private readonly changes = new Wakeup();

  constructor(
    private readonly relay: ControlChannel,
    private readonly debug: (message: string) => void = () => undefined,
  ) {
    void this.pumpRelay();
  }

  /**
   * A direct path is up (after key confirmation, so everything sent on it from now on is sealed): its control
   * frames come here, and messages go out on it too. The relay pipe carries no control messages.
   */
  addPath(link: Link): void {
    if (this.failure !== undefined || link.kind === 'relay') return;
    this.paths.add(link);
    // A link only lends its frames: this one may wait in the reorder buffer, so it is copied.
    link.on('control', (frame) => this.accept(frame.slice()));
    link.onEnd(() => this.removePath(link));
  }

  /** A direct path is gone; with the relay gone too, so is the session. */
  private removePath(link: Link): void {
    this.paths.delete(link);
    if (this.relayError !== undefined && this.paths.size === 0) this.fail(this.relayError);
    this.wake();
  }

  sendMessage(body: Uint8Array): void {
    let sent = false;
    if (this.relayError === undefined) {
      try {
        this.relay.sendMessage(body);
        sent = true;
      } catch (err) {
        this.relayLost(toPortunusError(err));
      }
    }
    for (const path of this.paths) {
      path.send(body).catch(() => this.removePath(path));
      sent = true;
    }
    if (!sent) throw this.failure ?? this.relayError ?? createError('INTERRUPTED', 'no control channel left');
  }

  async nextEvent(): Promise<PeerEvent> {
    for (;;) {
      const event = this.inbox.shift();
      if (event !== undefined) return event;
      if (this.failure !== undefined) throw this.failure;
      await this.changes.next();
    }
  }

  burn(): void {
    if (this.relayError === undefined) this.relay.burn();
  }

  /**
   * The session ended well and this side sent its last message: resolves once the peer has closed every direct path
   * (so it has read that message), or after `ms`. Closing first could cut the message off: node-datachannel hands a
   * channel's close and its messages to JavaScript through separate queues, so a peer may see the close first, and
   * a TCP close with unread data resets the connection. With the relay gone, the direct path is the message's only way.
   */
  async linger(ms: number): Promise<void> {
    if (this.paths.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const over = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    let timedOut = false;
    void over.then(() => ((timedOut = true), this.wake()));
    try {
      while (this.paths.size > 0 && !timedOut) await this.changes.next();
    } finally {
      clearTimeout(timer);
    }
  }

  /** The relay connection may be rejoined from now on; the peer is told which message this side expects next. */
  confirmed(keys: SessionKeys, side: Side): void {
    this.relay.confirmed?.(keys, side, () => this.order.next);
  }

  private async pumpRelay(): Promise<void> {
    try {
      for (;;) {
        const event = await this.relay.nextEvent();
        if (event.type === 'message') this.accept(event.body);
        else this.pass(event);
      }
    } catch (err) {
      this.relayLost(toPortunusError(err));
    }
  }

  /** A (re)pairing starts a new session whose sealed messages count from 0 again. */
  private pass(event: PeerEvent): void {
    if (event.type === 'paired') this.order = new ControlOrder();
    this.inbox.push(event);
    this.wake();
  }

  private accept(body: Uint8Array): void {
    if (this.failure !== undefined) return;
    try {
      this.inbox.push(...this.order.push(body).map((b): PeerEvent => ({ type: 'message', body: b })));
      if (this.inbox.length > MAX_INBOX) throw createError('PROTOCOL', 'the peer sent too many messages');
    } catch (err) {
      return this.fail(toPortunusError(err));
    }
    this.wake();
  }

  private relayLost(error: PortunusError): void {
    if (this.relayError !== undefined) return;
    this.relayError = error;
    if (this.paths.size === 0) return this.fail(error);
    this.debug(`the relay connection ended (${error.message}); control messages go on over the direct path`);
  }

  private fail(error: PortunusError): void {
    this.failure ??= error;
    this.wake();
  }

  private wake(): void {
    this.changes.wake();
  }
}
