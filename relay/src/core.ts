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
  type RandomBytes,
} from '@portunus/protocol';
import { addressKey } from './address.js';
import type { RelayConfig } from './config.js';
import { Connections, enterPhase, type ConnId, type ConnState, type Pending, type Phase } from './connections.js';
import { Limits } from './limits.js';
import { hello, ping } from './greeting.js';
import type { Logger } from './logger.js';
import { errorAndClose, type BinaryResult, type RelayAction } from './relay-action.js';
import type { RejectReason, RelayObserver } from './relay-observer.js';
import { RoomDecisions, unexpected, type Decision, type RoomDecisionsConfig } from './room-decisions.js';
import { routeRefusal } from './refusals.js';
import { routeRequest, type Route } from './route.js';
import type { SharedHooks } from './shared-hooks.js';

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

/** Sent by a side a for a pairing that ended before it read `unpaired`: dropped, not refused. */
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
    /** One of several instances (PROTOCOL.md §12): every rendezvous is routed through the shared state first. */
    cluster?: boolean;
  };

/** How a new connection came: `link`, another instance's (PROTOCOL.md §12); `refused`, over a cluster-wide cap. */
export interface OpenOptions {
  link?: boolean;
  refused?: 'too-many-from-address';
}

export class RelayCore {
  private readonly conns = new Connections();
  private readonly limits: Limits;
  private readonly decisions: RoomDecisions;
  private draining = false;

  constructor(
    private readonly config: CoreConfig,
    private readonly deps: { random: RandomBytes; observer: RelayObserver; logger: Logger; shared?: SharedHooks },
  ) {
    this.limits = new Limits({ ...config, onFailedClaim: deps.shared?.failedClaim });
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
  open(address: string, now: number, options: OpenOptions = {}): { conn: ConnId; actions: RelayAction[] } {
    const key = addressKey(address);
    const admit = this.draining ? 'draining' : (options.refused ?? this.limits.admit(key, options.link));
    const conn = this.conns.add(key, admit === 'ok', now, options.link);
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
    if (state === undefined || state.phase === 'linked') return [];
    if (size > this.config.maxMessageBytes)
      return this.fail(conn, now, 'MESSAGE_TOO_BIG', 'message too large', 'too_big');
    const msg = parseClientMessage(text);
    if (isParseError(msg)) return this.fail(conn, now, 'RELAY_PROTOCOL', msg.detail, 'bad_message');
    if (state.unpaired && state.phase === 'waiting' && LEFTOVERS.has(msg.type)) return [];
    if (msg.type !== 'ping' && state.phase !== PHASE_OF[msg.type]) return this.settle(conn, now, unexpected(msg.type));
    return this.settle(conn, now, this.decide(conn, state, msg, text, now));
  }

  /** The shared state's answer for the rendezvous waiting in `routing` (PROTOCOL.md §12). */
  routed(conn: ConnId, route: Route, now: number): RelayAction[] {
    const state = this.conns.open(conn);
    const pending = state?.pending;
    if (state === undefined || state.phase !== 'routing' || pending === undefined) return [];
    state.pending = undefined;
    enterPhase(state, 'ready', now);
    if (route.kind === 'burned') this.limits.recordFailedClaim(state.key, now);
    if (route.kind === 'remote' && !state.link) {
      enterPhase(state, 'linked', now);
      return [{ type: 'link', conn, url: route.url, hello: state.hello ?? '', request: pending.text }];
    }
    state.hello = undefined;
    if (route.kind !== 'local') return this.settle(conn, now, routeRefusal(route));
    return this.settle(conn, now, this.rendezvous(conn, state, pending.msg, now, route.nameplate));
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
      // A linked connection may be a paired room on another instance: it gets the grace period too.
      if (state.phase !== 'paired' && state.phase !== 'closed' && state.phase !== 'linked')
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
  private decide(conn: ConnId, state: ConnState, msg: ClientToRelay, text: string, now: number): Decision {
    switch (msg.type) {
      case 'hello':
        if (this.config.cluster === true) state.hello = text;
        return hello(conn, state, msg.protocol, this.config, now);
      case 'allocate':
      case 'claim':
      case 'join':
      case 'reconnect':
        if (this.config.cluster !== true) return this.rendezvous(conn, state, msg, now);
        // Several instances: the shared state decides first where the room lives (PROTOCOL.md §12).
        enterPhase(state, 'routing', now);
        state.pending = { msg, text };
        return [{ type: 'route', conn, key: state.key, request: routeRequest(msg) }];
      case 'msg':
        return this.decisions.forward(conn, msg.body);
      case 'pipe':
        return this.decisions.openPipe(conn);
      case 'burn':
        return this.decisions.burn(conn, state, now);
      case 'done':
        return this.decisions.done(conn, msg.ok);
      case 'ping':
        return ping(conn, state, now);
    }
  }

  /** A rendezvous message decided here; `nameplate`: the one the shared state reserved for an allocate. */
  private rendezvous(conn: ConnId, state: ConnState, msg: Pending['msg'], now: number, nameplate?: number): Decision {
    switch (msg.type) {
      case 'allocate':
        return this.decisions.allocate(conn, state, msg.seats ?? 1, now, nameplate);
      case 'claim':
        return this.decisions.claim(conn, state, msg.nameplate, now);
      case 'join':
        return this.decisions.join(conn, state, msg.nameplate, msg.token, now);
      case 'reconnect':
        return this.decisions.reconnect(conn, state, msg.id, now);
    }
  }

  /** Nameplates and reconnect ids held here, which the shared state keeps owned by this instance. */
  held(): { nameplates: number[]; reconnects: string[] } {
    return this.decisions.held();
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
