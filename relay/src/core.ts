/**
 * The relay's decisions, sans-IO: the socket glue (server.ts) reports what happened on each connection and
 * performs the actions returned (send a message, forward a peer message, close with a code). Every client
 * message is validated here before anything else looks at it; each violation ends only the offending
 * connection (and tells its peer), never the relay and never another room.
 *
 * Connection phases, in order: greeting (before hello) → ready (after welcome) → waiting (allocated or claimed,
 * no peer yet) → paired; `closed` once the relay has decided to close it (later input is ignored). A side a whose
 * peer left before the key exchange completed goes from paired back to waiting (PROTOCOL.md §2.4, `unpaired`).
 */
import type { RandomBytes } from '@portunus/protocol';
import type { ErrorCode } from '@portunus/protocol';
import { SUPPORTED_VERSIONS, PROTOCOL_VERSION } from '@portunus/protocol';
import { isParseError, parseClientMessage, SID_BYTES, type IceServer, type RelayToClient } from '@portunus/protocol';
import { addressKey } from './address.js';
import { relayIceServers, type RelayConfig } from './config.js';
import { Limits } from './limits.js';
import type { Logger } from './logger.js';
import { errorAndClose, peerLeft, type BinaryResult, type RelayAction } from './relay-action.js';
import type { RejectReason, RelayObserver } from './relay-observer.js';
import { Rooms, type ConnId } from './rooms.js';

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
  | 'maxNameplates'
  | 'maxNameplate'
  | 'nameplateTtlMs'
  | 'idleTimeoutMs'
  | 'failedClaimsPerMinute'
  | 'maxMessageBytes'
  | 'maxFrameBytes'
  | 'transferByteCap'
> &
  Partial<Pick<RelayConfig, 'stun' | 'turn'>>;

type Phase = 'greeting' | 'ready' | 'waiting' | 'paired' | 'closed';

interface Conn {
  readonly key: string;
  readonly admitted: boolean;
  phase: Phase;
  /** When the current phase began (idle timeout). */
  since: number;
  /** Waiting again after `unpaired`: messages of the pairing that ended may still arrive. */
  unpaired: boolean;
}

export class RelayCore {
  private readonly conns = new Map<ConnId, Conn>();
  private readonly rooms: Rooms;
  private readonly limits: Limits;
  private nextId = 1;
  private draining = false;
  /** Offered to both sides in `paired` for the direct path; empty means host candidates only. */
  private readonly ice: IceServer[];

  constructor(
    private readonly config: CoreConfig,
    private readonly deps: { random: RandomBytes; observer: RelayObserver; logger: Logger },
  ) {
    this.rooms = new Rooms({ ...config, burnTtlMs: config.nameplateTtlMs });
    this.limits = new Limits(config);
    this.ice = relayIceServers({ stun: config.stun, turn: config.turn });
  }

  stats(): CoreStats {
    return {
      connections: this.conns.size,
      nameplates: this.rooms.nameplates,
      burnedNameplates: this.rooms.burnedNameplates,
      pairedRooms: this.rooms.pairedRooms,
      trackedAddresses: this.limits.trackedAddresses,
    };
  }

  /** A new WebSocket from `address`; over a limit (or while draining) it is refused with an error. */
  open(address: string, now: number): { conn: ConnId; actions: RelayAction[] } {
    const id = this.nextId++;
    const key = addressKey(address);
    const admit = this.draining ? 'draining' : this.limits.admit(key);
    this.conns.set(id, { key, admitted: admit === 'ok', phase: 'greeting', since: now, unpaired: false });
    if (admit === 'ok') return { conn: id, actions: [] };
    if (admit === 'draining')
      return { conn: id, actions: this.fail(id, now, 'RELAY_SHUTDOWN', 'relay is shutting down', 'shutdown') };
    const why =
      admit === 'too-many-connections' ? 'relay connection limit reached' : 'too many connections from your address';
    return { conn: id, actions: this.fail(id, now, 'RELAY_LIMIT', why, 'limit') };
  }

  /** A text frame of `size` bytes. */
  text(id: ConnId, text: string, size: number, now: number): RelayAction[] {
    const conn = this.conns.get(id);
    if (conn === undefined || conn.phase === 'closed') return [];
    if (size > this.config.maxMessageBytes)
      return this.fail(id, now, 'MESSAGE_TOO_BIG', 'message too large', 'too_big');
    const msg = parseClientMessage(text);
    if (isParseError(msg)) return this.fail(id, now, 'RELAY_PROTOCOL', msg.detail, 'bad_message');
    if (conn.unpaired && conn.phase === 'waiting' && LEFTOVERS.has(msg.type)) return [];
    const member = this.rooms.membership(id);
    const expect = (phase: Phase): boolean => conn.phase === phase;
    switch (msg.type) {
      case 'hello':
        if (!expect('greeting')) break;
        if (!SUPPORTED_VERSIONS.includes(msg.protocol)) {
          const message = `relay speaks protocol ${SUPPORTED_VERSIONS.join(', ')}, client asked for ${msg.protocol}`;
          return this.fail(id, now, 'RELAY_INCOMPATIBLE', message, 'incompatible');
        }
        this.enter(conn, 'ready', now);
        return [{ type: 'send', conn: id, msg: this.welcome() }];
      case 'allocate':
        return expect('ready') ? this.allocate(id, conn, now) : this.outOfOrder(id, now, msg.type);
      case 'claim':
        return expect('ready') ? this.claim(id, conn, msg.nameplate, now) : this.outOfOrder(id, now, msg.type);
      case 'msg':
        if (!expect('paired') || member?.peer === undefined) break;
        this.rooms.countMessage(id);
        return [{ type: 'forward', from: id, to: member.peer, msg: { type: 'msg', body: msg.body } }];
      case 'pipe':
        if (!expect('paired') || member?.peer === undefined) break;
        if (!this.rooms.requestPipe(id)) return [];
        return [id, member.peer].map((conn) => ({ type: 'send', conn, msg: { type: 'pipe-open' } }) as const);
      case 'burn':
        return expect('paired') ? this.burn(id, conn, now) : this.outOfOrder(id, now, msg.type);
      case 'done':
        if (!expect('paired')) break;
        if (this.rooms.reportOutcome(id)) this.deps.observer.transfer(msg.ok);
        return [];
    }
    return this.outOfOrder(id, now, msg.type);
  }

  /** A binary frame of `size` bytes: where to forward it, or why not. */
  binary(id: ConnId, size: number, now: number): BinaryResult {
    const conn = this.conns.get(id);
    if (conn === undefined || conn.phase === 'closed') return { actions: [] };
    const member = this.rooms.membership(id);
    if (conn.phase !== 'paired' || member?.peer === undefined || !member.piped) {
      return { actions: this.fail(id, now, 'RELAY_PROTOCOL', 'binary frame before pipe-open', 'bad_message') };
    }
    if (size > this.config.maxFrameBytes)
      return { actions: this.fail(id, now, 'MESSAGE_TOO_BIG', 'data frame too large', 'too_big') };
    const total = this.rooms.addBytes(id, size);
    const cap = this.config.transferByteCap;
    if (cap > 0 && total > cap) {
      this.deps.observer.rejected('byte_cap');
      return { actions: this.closeRoom(id, 'BYTE_CAP', `transfer exceeded the relay limit of ${cap} bytes`) };
    }
    this.deps.observer.relayed(size);
    return { forward: member.peer };
  }

  /** The WebSocket layer rejected a frame itself (too large, bad UTF-8, bad framing) and is closing the socket. */
  socketError(id: ConnId, reason: 'too_big' | 'bad_message', now: number): RelayAction[] {
    const conn = this.conns.get(id);
    if (conn === undefined || conn.phase === 'closed') return [];
    this.deps.observer.rejected(reason);
    conn.phase = 'closed';
    return this.detach(id, now);
  }

  /** The socket is gone. */
  closed(id: ConnId, now: number): RelayAction[] {
    const conn = this.conns.get(id);
    if (conn === undefined) return [];
    const actions = conn.phase === 'closed' ? [] : this.detach(id, now);
    this.conns.delete(id);
    if (conn.admitted) this.limits.release(conn.key);
    return actions;
  }

  /** Periodic work: expire unpaired rooms, close idle connections, forget old failed claims. */
  tick(now: number): RelayAction[] {
    const actions: RelayAction[] = [];
    for (const id of this.rooms.expire(now)) {
      actions.push(...this.fail(id, now, 'TIMEOUT', 'nobody else claimed the nameplate in time', 'expired'));
    }
    for (const [id, conn] of this.conns) {
      if ((conn.phase === 'greeting' || conn.phase === 'ready') && now - conn.since >= this.config.idleTimeoutMs) {
        actions.push(...this.fail(id, now, 'IDLE_TIMEOUT', 'connection idle for too long', 'idle'));
      }
    }
    this.limits.sweep(now);
    return actions;
  }

  /** Starts draining: refuses new connections and closes every connection not in a paired room. */
  shutdown(now: number): RelayAction[] {
    this.draining = true;
    const actions: RelayAction[] = [];
    for (const [id, conn] of this.conns) {
      if (conn.phase !== 'paired' && conn.phase !== 'closed')
        actions.push(...this.fail(id, now, 'RELAY_SHUTDOWN', 'relay is shutting down'));
    }
    return actions;
  }

  /** Ends the grace period: closes everything left with RELAY_SHUTDOWN (no peer-left: both sides get the same close). */
  closeAll(): RelayAction[] {
    this.draining = true;
    const ids = [...this.conns].filter(([, conn]) => conn.phase !== 'closed').map(([id]) => id);
    for (const id of ids) this.conns.get(id)!.phase = 'closed';
    return ids.flatMap((id) => errorAndClose(id, 'RELAY_SHUTDOWN', 'relay is shutting down'));
  }

  private welcome(): RelayToClient {
    const base = { type: 'welcome', protocol: PROTOCOL_VERSION, relay: this.config.name } as const;
    return this.config.motd === undefined ? base : { ...base, motd: this.config.motd };
  }

  private paired(sid: Uint8Array, side: 'a' | 'b'): RelayToClient {
    return this.ice.length === 0 ? { type: 'paired', sid, side } : { type: 'paired', sid, side, ice: this.ice };
  }

  private allocate(id: ConnId, conn: Conn, now: number): RelayAction[] {
    const result = this.rooms.allocate(id, now);
    if (result.kind === 'rejected') return this.fail(id, now, 'RELAY_LIMIT', 'no free nameplate', 'limit');
    this.enter(conn, 'waiting', now);
    return [{ type: 'send', conn: id, msg: { type: 'allocated', nameplate: result.nameplate } }];
  }

  private claim(id: ConnId, conn: Conn, nameplate: number, now: number): RelayAction[] {
    if (!this.limits.claimAllowed(conn.key, now))
      return this.fail(id, now, 'RATE_LIMITED', 'too many failed claims', 'rate_limit');
    const result = this.rooms.claim(id, nameplate, now);
    switch (result.kind) {
      case 'waiting':
        this.enter(conn, 'waiting', now);
        return [{ type: 'send', conn: id, msg: { type: 'claimed', nameplate, side: 'a' } }];
      case 'paired': {
        this.enter(conn, 'paired', now);
        const peer = this.conns.get(result.peer);
        if (peer !== undefined) {
          this.enter(peer, 'paired', now);
          peer.unpaired = false;
        }
        this.deps.observer.paired();
        const sid = this.deps.random(SID_BYTES);
        return [
          { type: 'send', conn: id, msg: { type: 'claimed', nameplate, side: 'b' } },
          { type: 'send', conn: result.peer, msg: this.paired(sid, 'a') },
          { type: 'send', conn: id, msg: this.paired(sid, 'b') },
        ];
      }
      case 'rejected':
        if (result.failedClaim) this.limits.recordFailedClaim(conn.key, now);
        if (result.code === 'RELAY_PROTOCOL') {
          return this.fail(
            id,
            now,
            result.code,
            `nameplate must be from 1 to ${this.config.maxNameplate}`,
            'bad_message',
          );
        }
        if (result.code === 'RELAY_LIMIT')
          return this.fail(id, now, result.code, 'too many nameplates in use', 'limit');
        if (result.code === 'NAMEPLATE_BURNED') return this.fail(id, now, result.code, 'nameplate is burned', 'burned');
        return this.fail(id, now, result.code, 'nameplate already has two sides', 'in_use');
    }
  }

  private burn(id: ConnId, conn: Conn, now: number): RelayAction[] {
    const peer = this.rooms.membership(id)?.peer;
    const peerConn = peer === undefined ? undefined : this.conns.get(peer);
    const keys = peerConn === undefined ? [conn.key] : [conn.key, peerConn.key];
    const burned = this.rooms.burn(id, now, keys);
    if (burned === undefined) return this.outOfOrder(id, now, 'burn');
    this.deps.observer.burned();
    // Either side may be the one guessing (or both, a client pairing with itself): both pay a failed claim.
    for (const key of keys) this.limits.recordFailedClaim(key, now);
    if (!burned.remembered) this.deps.logger.info('burn not remembered', { ip: conn.key, reason: 'burns per address' });
    const sides = [burned.a, burned.b].filter((conn): conn is ConnId => conn !== undefined && this.isOpen(conn));
    for (const conn of sides) this.conns.get(conn)!.phase = 'closed';
    return sides.flatMap((conn) =>
      errorAndClose(conn, 'NAMEPLATE_BURNED', 'key confirmation failed; nameplate burned'),
    );
  }

  /** Closes both sides of `id`'s room with the same error. */
  private closeRoom(id: ConnId, code: ErrorCode, message: string): RelayAction[] {
    const peer = this.rooms.membership(id)?.peer;
    const sides = [id, peer].filter((conn): conn is ConnId => conn !== undefined && this.isOpen(conn));
    for (const conn of sides) {
      this.conns.get(conn)!.phase = 'closed';
      this.rooms.leave(conn);
    }
    return sides.flatMap((conn) => errorAndClose(conn, code, message));
  }

  private outOfOrder(id: ConnId, now: number, type: string): RelayAction[] {
    return this.fail(id, now, 'RELAY_PROTOCOL', `unexpected ${type} message`, 'bad_message');
  }

  /** Sends an error, closes with its close code and tells the peer, if any. */
  private fail(id: ConnId, now: number, code: ErrorCode, message: string, reason?: RejectReason): RelayAction[] {
    const conn = this.conns.get(id);
    if (conn === undefined || conn.phase === 'closed') return [];
    if (reason !== undefined) {
      this.deps.observer.rejected(reason);
      this.deps.logger.info('rejected', { conn: id, ip: conn.key, code, reason });
    }
    conn.phase = 'closed';
    return [...errorAndClose(id, code, message), ...this.detach(id, now)];
  }

  /**
   * Takes `id` out of its room. A side b leaving before the key exchange completed is charged a failed claim and its
   * peer waits again (`unpaired`); otherwise a peer still there gets peer-left and is closed with PEER_GONE.
   */
  private detach(id: ConnId, now: number): RelayAction[] {
    const departure = this.rooms.leave(id);
    if (departure.kind === 'alone') return [];
    if (departure.kind === 'unpaired') return this.unpair(id, departure.peer, now);
    this.rooms.leave(departure.peer);
    const conn = this.conns.get(departure.peer);
    if (conn === undefined || conn.phase === 'closed') return [];
    conn.phase = 'closed';
    return peerLeft(departure.peer);
  }

  /** Side b (`leaver`) went before the key exchange completed: it pays a failed claim, side a waits again. */
  private unpair(leaver: ConnId, a: ConnId, now: number): RelayAction[] {
    this.deps.observer.unpaired();
    const key = this.conns.get(leaver)?.key;
    if (key !== undefined) this.limits.recordFailedClaim(key, now);
    const conn = this.conns.get(a);
    if (conn === undefined || conn.phase === 'closed') {
      this.rooms.leave(a);
      return [];
    }
    if (this.draining) return this.fail(a, now, 'RELAY_SHUTDOWN', 'relay is shutting down');
    this.enter(conn, 'waiting', now);
    conn.unpaired = true;
    return [{ type: 'send', conn: a, msg: { type: 'unpaired' } }];
  }

  private isOpen(id: ConnId): boolean {
    const conn = this.conns.get(id);
    return conn !== undefined && conn.phase !== 'closed';
  }

  private enter(conn: Conn, phase: Phase, now: number): void {
    conn.phase = phase;
    conn.since = now;
  }
}
