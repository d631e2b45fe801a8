/**
 * The relay's room decisions, sans-IO (PROTOCOL.md §3, rooms and nameplates): allocating and claiming a nameplate,
 * pairing two sides, what a paired side's messages and data do, burning a nameplate after a failed key confirmation,
 * and what leaving does to the peer (unpaired, or peer-left). The core (core.ts) has checked that each message
 * belongs to the connection's phase; a decision updates the rooms, the failed claims and the phases and returns the
 * actions, or a Refusal that the core answers with an error and a close.
 */
import {
  SEAT_TOKEN_BYTES,
  SID_BYTES,
  toBase64Url,
  type ErrorCode,
  type IceServer,
  type RandomBytes,
  type RelayToClient,
} from '@portunus/protocol';
import { relayIceServers, type RelayConfig } from './config.js';
import { enterPhase, type ConnId, type Connections, type ConnState } from './connections.js';
import type { Limits } from './limits.js';
import type { Logger } from './logger.js';
import { errorAndClose, peerLeft, type BinaryResult, type RelayAction } from './relay-action.js';
import type { RejectReason, RelayObserver } from './relay-observer.js';
import { claimRefusal } from './refusals.js';
import { Rooms } from './rooms.js';
import type { SharedHooks } from './shared-hooks.js';

/** A request the rules refuse: the core sends this error and closes the connection (and tells its peer). */
export interface Refusal {
  readonly code: ErrorCode;
  readonly message: string;
  readonly reason: RejectReason;
}

export type Decision = RelayAction[] | Refusal;

/** The refusal of a message that does not belong where it came (its phase, or a room without a peer). */
export function unexpected(type: string): Refusal {
  return { code: 'RELAY_PROTOCOL', message: `unexpected ${type} message`, reason: 'bad_message' };
}

export type RoomDecisionsConfig = Pick<
  RelayConfig,
  'maxNameplates' | 'maxNameplate' | 'nameplateTtlMs' | 'transferByteCap'
> &
  Partial<Pick<RelayConfig, 'stun' | 'turn'>>;

export interface RoomDecisionsDeps {
  conns: Connections;
  limits: Limits;
  random: RandomBytes;
  observer: RelayObserver;
  logger: Logger;
  shared?: SharedHooks;
}

export class RoomDecisions {
  private readonly rooms: Rooms;
  /** Offered to both sides in `paired` for the direct path; empty means host candidates only. */
  private readonly ice: IceServer[];

  constructor(
    private readonly config: RoomDecisionsConfig,
    private readonly deps: RoomDecisionsDeps,
  ) {
    this.rooms = new Rooms({ ...config, burnTtlMs: config.nameplateTtlMs });
    this.ice = relayIceServers({ stun: config.stun, turn: config.turn });
  }

  held(): { nameplates: number[]; reconnects: string[] } {
    return this.rooms.held();
  }

  stats(): { nameplates: number; burnedNameplates: number; pairedRooms: number } {
    const { nameplates, burnedNameplates, pairedRooms } = this.rooms;
    return { nameplates, burnedNameplates, pairedRooms };
  }

  /**
   * `allocate {seats}`: with seats > 1 the reply carries the token that the sender's other connections `join` with.
   * `only`: the nameplate the shared state of several instances reserved for this one.
   */
  allocate(conn: ConnId, state: ConnState, seats: number, now: number, only?: number): Decision {
    const token = seats > 1 ? toBase64Url(this.deps.random(SEAT_TOKEN_BYTES)) : undefined;
    const result = this.rooms.allocate(conn, now, token === undefined ? undefined : { total: seats, token }, only);
    if (result.kind === 'rejected') return { code: 'RELAY_LIMIT', message: 'no free nameplate', reason: 'limit' };
    enterPhase(state, 'waiting', now);
    const { nameplate } = result;
    return [
      {
        type: 'send',
        conn,
        msg: token === undefined ? { type: 'allocated', nameplate } : { type: 'allocated', nameplate, token },
      },
    ];
  }

  /**
   * `join {nameplate, token}`: one more seat of an allocation with seats, waiting as side a (PROTOCOL.md §2.4). A
   * refusal is charged as a failed claim, but the rate limit refuses no join: it does not refuse the allocate either,
   * and a 128-bit token is not guessed a few at a time.
   */
  join(conn: ConnId, state: ConnState, nameplate: number, token: string, now: number): Decision {
    const { limits } = this.deps;
    const result = this.rooms.join(conn, nameplate, token, now);
    if (result.kind === 'rejected') {
      if (result.failedClaim) limits.recordFailedClaim(state.key, now);
      return claimRefusal(result.code, this.config.maxNameplate);
    }
    enterPhase(state, 'waiting', now);
    this.deps.observer.seatJoined();
    return [{ type: 'send', conn, msg: { type: 'claimed', nameplate, side: 'a' } }];
  }

  claim(conn: ConnId, state: ConnState, nameplate: number, now: number): Decision {
    const { limits } = this.deps;
    if (!limits.claimAllowed(state.key, now))
      return { code: 'RATE_LIMITED', message: 'too many failed claims', reason: 'rate_limit' };
    const result = this.rooms.claim(conn, nameplate, now);
    switch (result.kind) {
      case 'waiting':
        enterPhase(state, 'waiting', now);
        return [{ type: 'send', conn, msg: { type: 'claimed', nameplate, side: 'a' } }];
      case 'paired':
        return this.pair(conn, state, result.peer, nameplate, now);
      case 'rejected':
        if (result.failedClaim) limits.recordFailedClaim(state.key, now);
        if (result.code === 'NAMEPLATE_IN_USE' && this.rooms.seated(nameplate))
          return { code: result.code, message: 'every seat of this nameplate is taken', reason: 'in_use' };
        return claimRefusal(result.code, this.config.maxNameplate);
    }
  }

  /**
   * `reconnect {id}` (PROTOCOL.md §2.13): the connection waits for the other side of its session, or both get
   * `reconnected` with a fresh sid. Limited like a claim: the failed-claims rate, and a third connection is one.
   */
  reconnect(conn: ConnId, state: ConnState, id: string, now: number): Decision {
    const { limits } = this.deps;
    if (!limits.claimAllowed(state.key, now))
      return { code: 'RATE_LIMITED', message: 'too many failed claims', reason: 'rate_limit' };
    const result = this.rooms.reconnect(conn, id, state.key, now);
    switch (result.kind) {
      case 'waiting':
        enterPhase(state, 'waiting', now);
        return [];
      case 'paired': {
        enterPhase(state, 'paired', now);
        const peerState = this.deps.conns.get(result.peer);
        if (peerState !== undefined) enterPhase(peerState, 'paired', now);
        this.deps.observer.paired();
        const sid = this.deps.random(SID_BYTES);
        return [result.peer, conn].map(
          (side) => ({ type: 'send', conn: side, msg: { type: 'reconnected', sid } }) as const,
        );
      }
      case 'rejected':
        if (result.failedClaim) {
          limits.recordFailedClaim(state.key, now);
          return { code: result.code, message: 'reconnect id already has two sides', reason: 'in_use' };
        }
        return { code: result.code, message: 'too many nameplates or reconnects waiting', reason: 'limit' };
    }
  }

  /** A `msg` from a paired side: forwarded to the peer, and counted towards the key exchange. */
  forward(conn: ConnId, body: string): Decision {
    const peer = this.rooms.membership(conn)?.peer;
    if (peer === undefined) return unexpected('msg');
    this.rooms.countMessage(conn);
    return [{ type: 'forward', from: conn, to: peer, msg: { type: 'msg', body } }];
  }

  /** A `pipe` request: once both sides have asked, both get pipe-open. */
  openPipe(conn: ConnId): Decision {
    const peer = this.rooms.membership(conn)?.peer;
    if (peer === undefined) return unexpected('pipe');
    if (!this.rooms.requestPipe(conn)) return [];
    return [conn, peer].map((side) => ({ type: 'send', conn: side, msg: { type: 'pipe-open' } }) as const);
  }

  /** A `done`: the first report of a pairing counts the transfer's outcome. */
  done(conn: ConnId, ok: boolean): RelayAction[] {
    if (this.rooms.reportOutcome(conn)) this.deps.observer.transfer(ok);
    return [];
  }

  /** The peer a binary frame from `conn` goes to, once both sides have opened the pipe. */
  pipedPeer(conn: ConnId): ConnId | undefined {
    const member = this.rooms.membership(conn);
    return member?.peer !== undefined && member.piped ? member.peer : undefined;
  }

  /** Counts a binary frame against the room's byte cap: forwarded to `peer`, or the room is closed. */
  relay(conn: ConnId, peer: ConnId, size: number): BinaryResult {
    const total = this.rooms.addBytes(conn, size);
    const cap = this.config.transferByteCap;
    if (cap > 0 && total > cap) {
      this.deps.observer.rejected('byte_cap');
      return { actions: this.closeRoom(conn, 'BYTE_CAP', `transfer exceeded the relay limit of ${cap} bytes`) };
    }
    this.deps.observer.relayed(size);
    return { forward: peer };
  }

  burn(conn: ConnId, state: ConnState, now: number): Decision {
    const { conns, limits, observer, logger } = this.deps;
    const peer = this.rooms.membership(conn)?.peer;
    const peerState = peer === undefined ? undefined : conns.get(peer);
    const keys = peerState === undefined ? [state.key] : [state.key, peerState.key];
    const burned = this.rooms.burn(conn, now, keys);
    if (burned === undefined) return unexpected('burn');
    observer.burned();
    if (burned.remembered && burned.nameplate > 0) this.deps.shared?.burned(burned.nameplate);
    // Either side may be the one guessing (or both, a client pairing with itself): both pay a failed claim.
    for (const key of keys) limits.recordFailedClaim(key, now);
    if (!burned.remembered) logger.info('burn not remembered', { ip: state.key, reason: 'burns per address' });
    const sides = this.openOf([burned.a, burned.b]);
    for (const side of sides) conns.get(side)!.phase = 'closed';
    return sides.flatMap((side) =>
      errorAndClose(side, 'NAMEPLATE_BURNED', 'key confirmation failed; nameplate burned'),
    );
  }

  /** Unpaired rooms older than the nameplate TTL are gone: the connections that were waiting in them. */
  expire(now: number): ConnId[] {
    return this.rooms.expire(now);
  }

  /**
   * Takes `conn` out of its room. A side b leaving before the key exchange completed is charged a failed claim and
   * its peer waits again (`unpaired`); otherwise a peer still there gets peer-left and is closed with PEER_GONE,
   * `lost` when `conn`'s client went silent and was dropped (it may come back, PROTOCOL.md §2.13).
   */
  leave(conn: ConnId, now: number, draining: boolean, lost = false): RelayAction[] {
    const departure = this.rooms.leave(conn);
    if (departure.kind === 'alone') return [];
    if (departure.kind === 'unpaired') return this.unpair(conn, departure.peer, now, draining);
    this.rooms.leave(departure.peer);
    const peerState = this.deps.conns.open(departure.peer);
    if (peerState === undefined) return [];
    peerState.phase = 'closed';
    return peerLeft(departure.peer, lost);
  }

  private pair(conn: ConnId, state: ConnState, peer: ConnId, nameplate: number, now: number): RelayAction[] {
    enterPhase(state, 'paired', now);
    const peerState = this.deps.conns.get(peer);
    if (peerState !== undefined) {
      enterPhase(peerState, 'paired', now);
      peerState.unpaired = false;
    }
    this.deps.observer.paired();
    const sid = this.deps.random(SID_BYTES);
    return [
      { type: 'send', conn, msg: { type: 'claimed', nameplate, side: 'b' } },
      { type: 'send', conn: peer, msg: this.paired(sid, 'a') },
      { type: 'send', conn, msg: this.paired(sid, 'b') },
    ];
  }

  private paired(sid: Uint8Array, side: 'a' | 'b'): RelayToClient {
    return this.ice.length === 0 ? { type: 'paired', sid, side } : { type: 'paired', sid, side, ice: this.ice };
  }

  /** Side b (`leaver`) went before the key exchange completed: it pays a failed claim, side a waits again. */
  private unpair(leaver: ConnId, a: ConnId, now: number, draining: boolean): RelayAction[] {
    const { conns, limits, observer } = this.deps;
    observer.unpaired();
    const key = conns.get(leaver)?.key;
    if (key !== undefined) limits.recordFailedClaim(key, now);
    const state = conns.open(a);
    if (state === undefined) {
      this.rooms.leave(a);
      return [];
    }
    // A draining relay takes no new pairings: side a's room closes instead of waiting again.
    if (draining) return this.closeRoom(a, 'RELAY_SHUTDOWN', 'relay is shutting down');
    enterPhase(state, 'waiting', now);
    state.unpaired = true;
    return [{ type: 'send', conn: a, msg: { type: 'unpaired' } }];
  }

  /** Closes both sides of `conn`'s room with the same error. */
  private closeRoom(conn: ConnId, code: ErrorCode, message: string): RelayAction[] {
    const sides = this.openOf([conn, this.rooms.membership(conn)?.peer]);
    for (const side of sides) {
      this.deps.conns.get(side)!.phase = 'closed';
      this.rooms.leave(side);
    }
    return sides.flatMap((side) => errorAndClose(side, code, message));
  }

  private openOf(conns: readonly (ConnId | undefined)[]): ConnId[] {
    return conns.filter((conn): conn is ConnId => conn !== undefined && this.deps.conns.open(conn) !== undefined);
  }
}
