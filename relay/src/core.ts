/**
 * The relay's decisions, sans-IO: the socket glue (server.ts) reports what happened on each connection and
 * performs the actions returned (send a message, forward a peer message, close with a code). Every client
 * message is validated here before anything else looks at it; each violation ends only the offending
 * connection (and tells its peer), never the relay and never another room.
 *
 * RelayCore takes the connection's side: admission, which message belongs to which phase (connections.ts), size
 * limits, timeouts and shutdown. What a message does to a room is decided by RoomDecisions (room-decisions.ts).
 */
import {
  type ClientToRelay,
  type ErrorCode,
  isParseError,
  parseClientMessage,
  PING_BURST,
  PING_REFILL_MS,
  PROTOCOL_VERSION,
  type RandomBytes,
  type RelayToClient,
  SUPPORTED_VERSIONS,
} from '@portunus/protocol';
import { addressKey } from './address.js';
import type { RelayConfig } from './config.js';
import { Connections, enterPhase, type ConnId, type ConnState, type Phase } from './connections.js';
import { Limits } from './limits.js';
import { takePing } from './ping-allowance.js';
import type { Logger } from './logger.js';
import { errorAndClose, type BinaryResult, type RelayAction } from './relay-action.js';
import type { RejectReason, RelayObserver } from './relay-observer.js';
import { RoomDecisions, unexpected, type Decision, type RoomDecisionsConfig } from './room-decisions.js';

/** The phase in which each client message is allowed; anywhere else it is RELAY_PROTOCOL. `ping`: any after hello. */
const PHASE_OF: Readonly<Record<Exclude<ClientToRelay['type'], 'ping'>, Phase>> = {
  hello: 'greeting',
  allocate: 'ready',
  claim: 'ready',
  join: 'ready',
  reconnect: 'ready',
  msg: 'paired',
  pipe: 'paired',
  burn: 'paired',
  done: 'paired',
};

/** Messages a side a may have sent for a pairing that ended before it read `unpaired`: dropped, not refused. */
const LEFTOVERS: ReadonlySet<string> = new Set(['msg', 'pipe', 'burn', 'done']);

export interface CoreStats {
  connections: number;
  /** Nameplates in use (waiting or paired rooms); counted against max-nameplates. */
  nameplates: number;
  /** Burns remembered, apart from the nameplates in use (at most max-nameplates of them). */
  burnedNameplates: number;
  pairedRooms: number;
  /** Addresses whose recent failed claims are remembered. */
  trackedAddresses: number;
}

type CoreConfig = Pick<
  RelayConfig,
  | 'name'
  | 'motd'
  | 'maxConnections'
  | 'maxConnectionsPerIp'
  | 'idleTimeoutMs'
  | 'failedClaimsPerMinute'
  | 'maxMessageBytes'
  | 'maxFrameBytes'
> &
  RoomDecisionsConfig & {
    /** The relay serves the page: its welcome says so (`page: true`). */
    servesPage: boolean;
  };

export class RelayCore {
  private readonly conns = new Connections();
  private readonly limits: Limits;
  private readonly decisions: RoomDecisions;
  private draining = false;

  constructor(
    private readonly config: CoreConfig,
    private readonly deps: { random: RandomBytes; observer: RelayObserver; logger: Logger },
  ) {
    this.limits = new Limits(config);
    this.decisions = new RoomDecisions(config, { ...deps, conns: this.conns, limits: this.limits });
  }

  stats(): CoreStats {
    return {
      connections: this.conns.size,
      ...this.decisions.stats(),
      trackedAddresses: this.limits.trackedAddresses,
    };
  }

  /** A new WebSocket from `address`; over a limit (or while draining) it is refused with an error. */
  open(address: string, now: number): { conn: ConnId; actions: RelayAction[] } {
    const key = addressKey(address);
    const admit = this.draining ? 'draining' : this.limits.admit(key);
    const conn = this.conns.add(key, admit === 'ok', now);
    if (admit === 'ok') return { conn, actions: [] };
    if (admit === 'draining')
      return { conn, actions: this.fail(conn, now, 'RELAY_SHUTDOWN', 'relay is shutting down', 'shutdown') };
    const why =
      admit === 'too-many-connections' ? 'relay connection limit reached' : 'too many connections from your address';
    return { conn, actions: this.fail(conn, now, 'RELAY_LIMIT', why, 'limit') };
  }

  /** A text frame of `size` bytes. */
  text(conn: ConnId, text: string, size: number, now: number): RelayAction[] {
    const state = this.conns.open(conn);
    if (state === undefined) return [];
    if (size > this.config.maxMessageBytes)
      return this.fail(conn, now, 'MESSAGE_TOO_BIG', 'message too large', 'too_big');
    const msg = parseClientMessage(text);
    if (isParseError(msg)) return this.fail(conn, now, 'RELAY_PROTOCOL', msg.detail, 'bad_message');
    if (state.unpaired && state.phase === 'waiting' && LEFTOVERS.has(msg.type)) return [];
    if (msg.type !== 'ping' && state.phase !== PHASE_OF[msg.type]) return this.settle(conn, now, unexpected(msg.type));
    return this.settle(conn, now, this.decide(conn, state, msg, now));
  }

  /** A binary frame of `size` bytes: where to forward it, or why not. */
  binary(conn: ConnId, size: number, now: number): BinaryResult {
    const state = this.conns.open(conn);
    if (state === undefined) return { actions: [] };
    const peer = state.phase === 'paired' ? this.decisions.pipedPeer(conn) : undefined;
    if (peer === undefined) {
      return { actions: this.fail(conn, now, 'RELAY_PROTOCOL', 'binary frame before pipe-open', 'bad_message') };
    }
    if (size > this.config.maxFrameBytes)
      return { actions: this.fail(conn, now, 'MESSAGE_TOO_BIG', 'data frame too large', 'too_big') };
    return this.decisions.relay(conn, peer, size);
  }

  /** The WebSocket layer rejected a frame itself (too large, bad UTF-8, bad framing) and is closing the socket. */
  socketError(conn: ConnId, reason: 'too_big' | 'bad_message', now: number): RelayAction[] {
    const state = this.conns.open(conn);
    if (state === undefined) return [];
    this.deps.observer.rejected(reason);
    state.phase = 'closed';
    return this.decisions.leave(conn, now, this.draining);
  }

  /** The socket is gone; `lost`: the keepalive dropped it, its client went silent (its peer may see it come back). */
  closed(conn: ConnId, now: number, lost = false): RelayAction[] {
    const state = this.conns.get(conn);
    if (state === undefined) return [];
    const actions = state.phase === 'closed' ? [] : this.decisions.leave(conn, now, this.draining, lost);
    this.conns.delete(conn);
    if (state.admitted) this.limits.release(state.key);
    return actions;
  }

  /** Periodic work: expire unpaired rooms (and waiting reconnects), close idle connections, forget old failed claims. */
  tick(now: number): RelayAction[] {
    const actions: RelayAction[] = [];
    for (const conn of this.decisions.expire(now)) {
      actions.push(...this.fail(conn, now, 'TIMEOUT', 'nobody else claimed the nameplate in time', 'expired'));
    }
    for (const [conn, state] of this.conns.entries()) {
      if ((state.phase === 'greeting' || state.phase === 'ready') && now - state.since >= this.config.idleTimeoutMs) {
        actions.push(...this.fail(conn, now, 'IDLE_TIMEOUT', 'connection idle for too long', 'idle'));
      }
    }
    this.limits.sweep(now);
    return actions;
  }

  /** Starts draining: refuses new connections and closes every connection not in a paired room. */
  shutdown(now: number): RelayAction[] {
    this.draining = true;
    const actions: RelayAction[] = [];
    for (const [conn, state] of this.conns.entries()) {
      if (state.phase !== 'paired' && state.phase !== 'closed')
        actions.push(...this.fail(conn, now, 'RELAY_SHUTDOWN', 'relay is shutting down'));
    }
    return actions;
  }

  /** Ends the grace period: closes everything left with RELAY_SHUTDOWN (no peer-left: both sides get the same close). */
  closeAll(): RelayAction[] {
    this.draining = true;
    const conns = [...this.conns.entries()].filter(([, state]) => state.phase !== 'closed').map(([conn]) => conn);
    for (const conn of conns) this.conns.get(conn)!.phase = 'closed';
    return conns.flatMap((conn) => errorAndClose(conn, 'RELAY_SHUTDOWN', 'relay is shutting down'));
  }

  /** A message in its phase: what it does. */
  private decide(conn: ConnId, state: ConnState, msg: ClientToRelay, now: number): Decision {
    switch (msg.type) {
      case 'hello':
        return this.hello(conn, state, msg.protocol, now);
      case 'allocate':
        return this.decisions.allocate(conn, state, msg.seats ?? 1, now);
      case 'claim':
        return this.decisions.claim(conn, state, msg.nameplate, now);
      case 'join':
        return this.decisions.join(conn, state, msg.nameplate, msg.token, now);
      case 'reconnect':
        return this.decisions.reconnect(conn, state, msg.id, now);
      case 'msg':
        return this.decisions.forward(conn, msg.body);
      case 'pipe':
        return this.decisions.openPipe(conn);
      case 'burn':
        return this.decisions.burn(conn, state, now);
      case 'done':
        return this.decisions.done(conn, msg.ok);
      case 'ping':
        return this.ping(conn, state, now);
    }
  }

  private hello(conn: ConnId, state: ConnState, protocol: number, now: number): Decision {
    if (!SUPPORTED_VERSIONS.includes(protocol)) {
      const message = `relay speaks protocol ${SUPPORTED_VERSIONS.join(', ')}, client asked for ${protocol}`;
      return { code: 'RELAY_INCOMPATIBLE', message, reason: 'incompatible' };
    }
    enterPhase(state, 'ready', now);
    return [{ type: 'send', conn, msg: this.welcome() }];
  }

  /** Keepalive for clients that cannot send WebSocket pings: any time after hello, within the bound. */
  private ping(conn: ConnId, state: ConnState, now: number): Decision {
    if (state.phase === 'greeting') return unexpected('ping');
    if (!takePing(state.pings, now)) {
      const message = `more than ${PING_BURST} pings at once, or more than one per ${PING_REFILL_MS} ms`;
      return { code: 'RELAY_PROTOCOL', message, reason: 'rate_limit' };
    }
    return [{ type: 'send', conn, msg: { type: 'pong' } }];
  }

  private welcome(): RelayToClient {
    const { name: relay, motd, servesPage } = this.config;
    return {
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      relay,
      ...(motd === undefined ? {} : { motd }),
      ...(servesPage ? { page: true } : {}),
    };
  }

  private settle(conn: ConnId, now: number, decision: Decision): RelayAction[] {
    return Array.isArray(decision) ? decision : this.fail(conn, now, decision.code, decision.message, decision.reason);
  }

  /** Sends an error, closes with its close code and tells the peer, if any. */
  private fail(conn: ConnId, now: number, code: ErrorCode, message: string, reason?: RejectReason): RelayAction[] {
    const state = this.conns.open(conn);
    if (state === undefined) return [];
    if (reason !== undefined) {
      this.deps.observer.rejected(reason);
      this.deps.logger.info('rejected', { conn, ip: state.key, code, reason });
    }
    state.phase = 'closed';
    return [...errorAndClose(conn, code, message), ...this.decisions.leave(conn, now, this.draining)];
  }
}
