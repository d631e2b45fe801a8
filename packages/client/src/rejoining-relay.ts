/**
 * The session's relay connection, surviving its loss (PROTOCOL.md §2.13). Until the key is confirmed it is the first
 * connection and nothing more. After confirmation, when that connection ends in a way the peer may come back from
 * (the relay restarted or unreachable, the peer's connection lost), it connects again and again, within one stall
 * timeout, and presents the session's reconnect id instead of a nameplate; once the relay pairs it with the peer,
 * both prove they hold the session key (rejoin.ts), each resends the sealed control messages the other lacks
 * (control-history.ts), and whoever watches (the data plane, paths.ts) gets the new connection for its relay path.
 * Meanwhile the session waits: peer events resume on the new connection, and messages it sends are kept for then.
 */
import {
  createError,
  type PortunusError,
  type RandomBytes,
  type SessionKeys,
  type Side,
  toPortunusError,
} from '@portunus/protocol';
import { proveRejoin } from './rejoin-exchange.js';
import { ControlHistory } from './control-history.js';
import type { PeerEvent, RelayClient } from './relay-client.js';
import type { ControlChannel } from './session-hooks.js';
import { Wakeup } from './wakeup.js';

/** The delay after the first failed attempt; it doubles up to RECONNECT_MAX_DELAY_MS. */
export const RECONNECT_FIRST_DELAY_MS = 250;
export const RECONNECT_MAX_DELAY_MS = 4_000;

export interface RejoinEvents {
  /** Attempt `attempt` starts; `reason` is why the connection was lost, or why the previous attempt failed. */
  reconnecting(attempt: number, reason: PortunusError): void;
  reconnected(): void;
  debug(message: string): void;
}

export interface RejoinOptions {
  /** Opens a new connection to the same relay (hello and welcome done); aborting gives up on it. None: no rejoin. */
  connect?(signal: AbortSignal): Promise<RelayClient>;
  /** How long after the loss the connection may take to come back: the stall timeout. */
  windowMs: number;
  random: RandomBytes;
  events: RejoinEvents;
}

/** What the data plane asks of it (paths.ts): may the relay path come back, and with which connection. */
export interface RelayRejoins {
  /** True while a lost relay connection is coming back (until it is back, or gave up). */
  readonly pending: boolean;
  /** Calls `listener` with each connection that comes back, and with undefined once it gave up. */
  watch(listener: (client: RelayClient | undefined) => void): () => void;
}

export interface Armed {
  keys: SessionKeys;
  side: Side;
  /** The index of the next sealed control message the session expects from the peer. */
  expected: () => number;
}

export class RejoiningRelay implements ControlChannel, RelayRejoins {
  private current: RelayClient;
  /** The connection whose events the session reads: a lost one until its last event was read, then the current. */
  private reading: RelayClient;
  private armed: Armed | undefined;
  private rejoining = false;
  private failure: PortunusError | undefined;
  private over = false;
  private readonly stop = new AbortController();
  private readonly history = new ControlHistory();
  private readonly listeners = new Set<(client: RelayClient | undefined) => void>();
  private readonly changes = new Wakeup();

  constructor(
    first: RelayClient,
    private readonly opts: RejoinOptions,
  ) {
    this.current = first;
    this.reading = first;
    this.watchEnd(first);
  }

  /** The connection in use (the first one, or the last that came back). */
  get client(): RelayClient {
    return this.current;
  }

  /** Rejoining, or about to: the connection ended in a way it may come back from (its end may not be handled yet). */
  get pending(): boolean {
    if (this.failure !== undefined) return false;
    if (this.rejoining) return true;
    const cause = this.current.endCause;
    return cause !== undefined && cause !== null && this.mayComeBack(cause, this.current);
  }

  /** The key is confirmed: from now on a lost connection is rejoined (when there is a way to connect again). */
  confirmed(keys: SessionKeys, side: Side, expected: () => number = () => 0): void {
    if (this.opts.connect !== undefined) this.armed = { keys, side, expected };
  }

  watch(listener: (client: RelayClient | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  sendMessage(body: Uint8Array): void {
    this.history.record(body);
    if (this.rejoining) return; // sent again once the peer says it lacks it
    const client = this.current;
    try {
      client.sendMessage(body);
    } catch (err) {
      // A connection that ended, and will be rejoined, gets the message after the rejoin.
      if (!this.mayComeBack(toPortunusError(err), client)) throw err;
    }
  }

  /** The peer's next event: everything a lost connection still held first, then the new connection's. */
  async nextEvent(): Promise<PeerEvent> {
    for (;;) {
      const client = this.reading;
      try {
        const event = await client.nextEvent();
        if (event.type === 'paired') this.history.clear();
        return event;
      } catch (err) {
        // Drained: the connection ended (its end may start a rejoin here, if its close did not already).
        if (client === this.current) this.lost(client, toPortunusError(err));
        while (this.rejoining) await this.changes.next();
        if (this.failure !== undefined) throw this.failure;
        this.reading = this.current;
      }
    }
  }

  burn(): void {
    if (!this.rejoining) this.current.burn();
  }

  reportDone(ok: boolean): void {
    if (!this.rejoining) this.current.reportDone(ok);
  }

  /** The session is over: no more rejoining, the connection closes. */
  async close(): Promise<void> {
    this.over = true;
    this.stop.abort(createError('CANCELLED', 'session over'));
    this.changes.wake();
    await this.current.close();
  }

  private mayComeBack(error: PortunusError, client: RelayClient): boolean {
    if (this.armed === undefined || this.over) return false;
    return (
      error.code === 'RELAY_UNREACHABLE' ||
      error.code === 'RELAY_SHUTDOWN' ||
      (error.code === 'PEER_GONE' && client.peerLost)
    );
  }

  /** Hears of `client`'s end as soon as it happens, so a rejoin starts even while nobody reads events. */
  private watchEnd(client: RelayClient): void {
    void client.closed.then(() => {
      const cause = client.endCause;
      if (cause !== null && cause !== undefined) this.lost(client, cause);
    });
  }

  /** The connection ended (once per connection): rejoin when the peer may come back, else that is the end. */
  private lost(client: RelayClient, error: PortunusError): void {
    if (client !== this.current || this.rejoining || this.failure !== undefined) return;
    if (!this.mayComeBack(error, client)) {
      this.failure = error;
      return this.notify(undefined);
    }
    this.rejoining = true;
    void this.rejoin(this.armed!, error);
  }

  private async rejoin(armed: Armed, reason: PortunusError): Promise<void> {
    const { windowMs, events } = this.opts;
    // A timer of its own, held until the end: a bare AbortSignal.timeout inside AbortSignal.any is held only weakly
    // by Node and may be collected before it fires.
    const expiry = new AbortController();
    const timer = setTimeout(() => expiry.abort(createError('TIMEOUT', 'reconnect window over')), windowMs);
    const window = AbortSignal.any([this.stop.signal, expiry.signal]);
    try {
      await this.attempts(armed, reason, window);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Attempts until one succeeds or `window` ends; then the connection is back, or the session fails. */
  private async attempts(armed: Armed, reason: PortunusError, window: AbortSignal): Promise<void> {
    const { windowMs, events } = this.opts;
    let last = reason;
    /** Whether the last attempt reached the relay (then it was the peer that did not come). */
    const reached = { relay: false };
    for (let attempt = 1; !window.aborted; attempt++) {
      events.reconnecting(attempt, last);
      try {
        const { client, peerNext } = await this.attempt(armed, window, reached);
        if (this.over) {
          void client.close();
          break;
        }
        // In one go, so that no message sent meanwhile falls between the resend and the switch.
        this.resend(client, peerNext);
        this.current = client;
        this.rejoining = false;
        this.watchEnd(client);
        events.reconnected();
        this.notify(client);
        return this.changes.wake();
      } catch (err) {
        last = toPortunusError(err);
        events.debug(`reconnect attempt ${attempt} failed: ${last.message}`);
      }
      await pause(Math.min(RECONNECT_FIRST_DELAY_MS * 2 ** (attempt - 1), RECONNECT_MAX_DELAY_MS), window);
    }
    this.rejoining = false;
    const within = `within ${windowMs / 1000} s of losing the relay connection (${reason.message})`;
    this.failure = this.over
      ? createError('CANCELLED', 'session over')
      : reached.relay
        ? createError('PEER_GONE', `the other side did not come back ${within}`)
        : createError('RELAY_UNREACHABLE', `the relay did not come back ${within}; the last attempt: ${last.message}`);
    this.notify(undefined);
    this.changes.wake();
  }

  /** Sends `client` every kept control message from the peer's `next` on; a failure closes it (then retried). */
  private resend(client: RelayClient, next: number): void {
    try {
      for (const body of this.history.from(next)) client.sendMessage(body);
    } catch (err) {
      void client.close();
      throw err;
    }
  }

  /** One attempt: connect, meet the peer under the id, prove the key both ways; the peer's next index with it. */
  private async attempt(
    armed: Armed,
    signal: AbortSignal,
    reached: { relay: boolean },
  ): Promise<{ client: RelayClient; peerNext: number }> {
    reached.relay = false;
    const client = await this.opts.connect!(signal);
    reached.relay = true;
    const onAbort = () => void client.close();
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const sid = await client.reconnect(armed.keys.reconnect.id);
      return { client, peerNext: await proveRejoin(client, armed, sid, this.opts.random) };
    } catch (err) {
      await client.close();
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private notify(client: RelayClient | undefined): void {
    for (const listener of [...this.listeners]) listener(client);
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    // Not unref'd: between attempts this timer may be what keeps a receiving process alive.
    const timer = setTimeout(done, ms);
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
}
