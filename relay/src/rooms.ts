/**
 * Room bookkeeping (PROTOCOL.md §2.4): which connection holds which nameplate, as pure logic (the caller passes the
 * time). A room is created by `allocate` or by the first `claim` of a nameplate (side "a") and is paired by the second
 * claim (side "b"). The key exchange is complete, for the relay, once side a has sent its second `msg` (its `pake`,
 * then its `confirm`, which a sends only after checking b's): a side b that leaves before that has learned nothing
 * about the code, so the room goes back to waiting and side a keeps its nameplate. After that the nameplate stays
 * bound to the room until both sides have left, so a third claimer always gets NAMEPLATE_IN_USE; then it is free
 * again. Burned nameplates live in a bounded table of their own (burned-nameplates.ts) and are skipped or refused.
 *
 * A nameplate allocated with seats holds one room per seat (nameplate-rooms.ts): a claim pairs with any seat still
 * waiting, and a seat's burn ends that seat alone.
 *
 * A room may also be met under a reconnect id instead of a nameplate (PROTOCOL.md §2.13): the two sides of a session
 * whose key is confirmed, meeting again after their connection was lost. Such a room waits like an unpaired one
 * (counted against max-nameplates and, per address, MAX_RECONNECTS_PER_ADDRESS), and once paired its key exchange is
 * complete: nobody is sent back to waiting, and a burn is not remembered (there is no nameplate to burn).
 */
import { BurnedNameplates } from './burned-nameplates.js';
import { ConnectionCounts } from './connection-counts.js';
import type { ConnId } from './connections.js';
import { NameplateRooms, type SeatGrant } from './nameplate-rooms.js';
import {
  freshPairing,
  sideOf,
  type AllocateResult,
  type Burned,
  type ClaimResult,
  type Departure,
  type JoinResult,
  type Membership,
  type ReconnectResult,
  type Room,
} from './room.js';

/** Reconnect ids one client address may have waiting at once (PROTOCOL.md §2.13). */
export const MAX_RECONNECTS_PER_ADDRESS = 16;

export interface RoomsOptions {
  maxNameplate: number;
  /** Nameplates in use at once; also how many burns are remembered (separately). */
  maxNameplates: number;
  /** Unpaired rooms older than this expire. */
  nameplateTtlMs: number;
  /** A burned nameplate stays burned this long. */
  burnTtlMs: number;
}

export class Rooms {
  private readonly rooms = new NameplateRooms();
  /** Rooms met under a reconnect id, and how many of them each address has waiting. */
  private readonly rejoins = new Map<string, Room>();
  private readonly waitingRejoins = new ConnectionCounts({ total: Infinity, perAddress: MAX_RECONNECTS_PER_ADDRESS });
  private readonly byConn = new Map<ConnId, Room>();
  private readonly burned: BurnedNameplates;

  constructor(private readonly options: RoomsOptions) {
    this.burned = new BurnedNameplates({ capacity: options.maxNameplates, ttlMs: options.burnTtlMs });
  }

  /** Nameplates in use, each seat and reconnect id counted (burned ones are counted apart, in `burnedNameplates`). */
  get nameplates(): number {
    return this.rooms.size + this.rejoins.size;
  }

  /** Nameplates and reconnect ids in use here. */
  held(): { nameplates: number[]; reconnects: string[] } {
    return { nameplates: [...this.rooms.nameplates()], reconnects: [...this.rejoins.keys()] };
  }
  get burnedNameplates(): number {
    return this.burned.size;
  }

  get pairedRooms(): number {
    let n = 0;
    for (const room of this.all()) if (room.paired) n++;
    return n;
  }

  /**
   * Gives `conn` the smallest free nameplate (or `only` that one) as side "a"; with `seats` (total > 1) as the first
   * of that many seats, the others taken by `join` with the token.
   */
  allocate(conn: ConnId, now: number, seats?: SeatGrant, only?: number): AllocateResult {
    if (this.nameplates >= this.options.maxNameplates) return { kind: 'rejected', code: 'RELAY_LIMIT' };
    for (let n = only ?? 1; n <= (only ?? this.options.maxNameplate); n++) {
      if (this.rooms.has(n) || this.burned.has(n, now)) continue;
      this.create(n, conn, now, undefined, seats);
      return { kind: 'allocated', nameplate: n };
    }
    return { kind: 'rejected', code: 'RELAY_LIMIT' };
  }

  claim(conn: ConnId, nameplate: number, now: number): ClaimResult {
    if (!Number.isSafeInteger(nameplate) || nameplate < 1 || nameplate > this.options.maxNameplate) {
      return { kind: 'rejected', code: 'RELAY_PROTOCOL', failedClaim: false };
    }
    if (this.burned.has(nameplate, now)) return { kind: 'rejected', code: 'NAMEPLATE_BURNED', failedClaim: true };
    const rooms = this.rooms.get(nameplate);
    if (rooms === undefined) {
      if (this.nameplates >= this.options.maxNameplates)
        return { kind: 'rejected', code: 'RELAY_LIMIT', failedClaim: false };
      this.create(nameplate, conn, now);
      return { kind: 'waiting', side: 'a' };
    }
    const room = rooms.find((r) => !r.paired && r.a !== undefined);
    if (room?.a === undefined) return { kind: 'rejected', code: 'NAMEPLATE_IN_USE', failedClaim: true };
    room.b = conn;
    room.paired = true;
    this.byConn.set(conn, room);
    return { kind: 'paired', side: 'b', peer: room.a };
  }

  /** True while `nameplate` is an allocation with seats (a refused claim says that every seat is taken). */
  seated(nameplate: number): boolean {
    return this.rooms.hasSeats(nameplate);
  }

  /**
   * `conn` takes one more seat of `nameplate` with the allocation's token and waits there as side "a". A wrong token,
   * a nameplate without seats, or no seat left is refused as a claim of a nameplate in use (a failed claim).
   */
  join(conn: ConnId, nameplate: number, token: string, now: number): JoinResult {
    if (this.nameplates >= this.options.maxNameplates)
      return { kind: 'rejected', code: 'RELAY_LIMIT', failedClaim: false };
    if (!this.rooms.takeSeat(nameplate, token))
      return { kind: 'rejected', code: 'NAMEPLATE_IN_USE', failedClaim: true };
    this.create(nameplate, conn, now);
    return { kind: 'waiting' };
  }

  /**
   * `conn` (from the address with limit key `key`) presents reconnect id `id`: it waits for the other side, or is
   * paired with the one waiting; a third is refused (a failed claim).
   */
  reconnect(conn: ConnId, id: string, key: string, now: number): ReconnectResult {
    const room = this.rejoins.get(id);
    if (room === undefined) {
      if (this.nameplates >= this.options.maxNameplates || this.waitingRejoins.admit(key) !== 'ok')
        return { kind: 'rejected', code: 'RELAY_LIMIT', failedClaim: false };
      this.create(0, conn, now, { id, waiting: key });
      return { kind: 'waiting' };
    }
    if (room.paired || room.a === undefined) return { kind: 'rejected', code: 'NAMEPLATE_IN_USE', failedClaim: true };
    this.stopWaiting(room);
    room.b = conn;
    room.paired = true;
    this.byConn.set(conn, room);
    return { kind: 'paired', peer: room.a };
  }

  membership(conn: ConnId): Membership | undefined {
    const room = this.byConn.get(conn);
    if (room === undefined) return undefined;
    const side = sideOf(room, conn);
    return {
      nameplate: room.nameplate,
      side,
      peer: side === 'a' ? room.b : room.a,
      paired: room.paired,
      piped: room.pairing.pipe.a && room.pairing.pipe.b,
    };
  }

  /** Counts one `msg` from `conn` towards the key exchange. */
  countMessage(conn: ConnId): void {
    const room = this.byConn.get(conn);
    if (room?.paired === true) room.pairing.sent[sideOf(room, conn)]++;
  }

  /** Records that `conn` wants the data pipe; true exactly when this request opens it. */
  requestPipe(conn: ConnId): boolean {
    const room = this.byConn.get(conn);
    if (room === undefined || !room.paired) return false;
    const side = sideOf(room, conn);
    if (room.pairing.pipe[side]) return false;
    room.pairing.pipe[side] = true;
    return room.pairing.pipe.a && room.pairing.pipe.b;
  }

  /** Adds piped bytes to the room's total and returns the new total. */
  addBytes(conn: ConnId, bytes: number): number {
    const room = this.byConn.get(conn);
    if (room === undefined) return 0;
    room.pairing.bytes += bytes;
    return room.pairing.bytes;
  }

  /** True for the first outcome report of a pairing, so each transfer is counted once. */
  reportOutcome(conn: ConnId): boolean {
    const room = this.byConn.get(conn);
    if (room === undefined || !room.paired || room.pairing.outcomeReported) return false;
    room.pairing.outcomeReported = true;
    return true;
  }

  /**
   * Burns the nameplate of `conn`'s room, remembering the burn against the clients at `keys` (their limit keys).
   * A seat burns alone: its nameplate is remembered as burned only when no other seat's room is left under it.
   * Only a paired room whose two sides have each sent a `msg` can be burned (a confirmation can only fail after
   * a key exchange); otherwise undefined. Returns both sides: the caller closes them.
   */
  burn(conn: ConnId, now: number, keys: readonly string[]): Burned | undefined {
    const room = this.byConn.get(conn);
    if (room === undefined || !room.paired || room.pairing.sent.a === 0 || room.pairing.sent.b === 0) return undefined;
    const { a, b, nameplate } = room;
    const freed = this.remove(room);
    if (a !== undefined) this.byConn.delete(a);
    if (b !== undefined) this.byConn.delete(b);
    // A reconnect id is no nameplate: there is nothing to keep burned (the id dies with its session).
    const remembered = room.rejoin !== undefined || !freed || this.burned.add(nameplate, now, keys);
    return { nameplate, a, b, remembered };
  }

  /**
   * Removes `conn` from its room. Side b leaving a paired room before the key exchange completed puts the room back
   * to waiting ('unpaired', the peer is side a); otherwise a peer still in the room is returned as 'peer-left' (the
   * caller tells it and then makes it leave too). The nameplate is freed once nobody is left.
   */
  leave(conn: ConnId): Departure {
    const room = this.byConn.get(conn);
    if (room === undefined) return { kind: 'alone' };
    this.byConn.delete(conn);
    if (
      room.paired &&
      room.rejoin === undefined &&
      room.b === conn &&
      room.a !== undefined &&
      room.pairing.sent.a < 2
    ) {
      room.b = undefined;
      room.paired = false;
      room.pairing = freshPairing();
      return { kind: 'unpaired', peer: room.a };
    }
    if (room.a === conn) room.a = undefined;
    if (room.b === conn) room.b = undefined;
    const peer = room.a ?? room.b;
    if (peer === undefined) {
      this.remove(room);
      return { kind: 'alone' };
    }
    return { kind: 'peer-left', peer };
  }

  /** Removes unpaired rooms older than the TTL and lapsed burns; returns the connections that were waiting. */
  expire(now: number): ConnId[] {
    const expired: ConnId[] = [];
    for (const room of [...this.all()]) {
      if (room.paired || now - room.createdAt < this.options.nameplateTtlMs) continue;
      this.remove(room);
      for (const conn of [room.a, room.b]) {
        if (conn === undefined) continue;
        this.byConn.delete(conn);
        expired.push(conn);
      }
    }
    this.burned.sweep(now);
    return expired;
  }

  private *all(): Iterable<Room> {
    yield* this.rooms.values();
    yield* this.rejoins.values();
  }

  /**
   * Forgets `room` under its nameplate or reconnect id (its connections are the caller's); true when that is now free
   * (another seat's room may still hold the nameplate).
   */
  private remove(room: Room): boolean {
    if (room.rejoin === undefined) return this.rooms.remove(room);
    this.stopWaiting(room);
    this.rejoins.delete(room.rejoin.id);
    return true;
  }

  /** A reconnect room's waiting side no longer counts against its address. */
  private stopWaiting(room: Room): void {
    const key = room.rejoin?.waiting;
    if (key === undefined) return;
    this.waitingRejoins.release(key);
    room.rejoin!.waiting = undefined;
  }

  private create(nameplate: number, conn: ConnId, now: number, rejoin?: Room['rejoin'], seats?: SeatGrant): void {
    const room: Room = {
      nameplate,
      rejoin,
      createdAt: now,
      a: conn,
      b: undefined,
      paired: false,
      pairing: freshPairing(),
    };
    if (rejoin === undefined) this.rooms.add(room, seats);
    else this.rejoins.set(rejoin.id, room);
    this.byConn.set(conn, room);
  }
}
