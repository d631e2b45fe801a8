/**
 * Room bookkeeping (PROTOCOL.md §Relay, rooms): which connection holds which nameplate, as pure logic. The caller
 * passes the time; nothing here touches a socket.
 *
 * A room is created by `allocate` or by the first `claim` of a nameplate (side "a") and is paired by the second
 * claim (side "b"). After pairing the nameplate stays bound to the room until both sides have left, so a third
 * claimer always gets NAMEPLATE_IN_USE; then it is free again. A burned nameplate cannot be claimed or allocated
 * until its burn expires. Burned nameplates count towards maxNameplates, so memory stays bounded.
 */
import type { Side } from '../../packages/protocol/src/keys.js';

export type ConnId = number;

export interface RoomsOptions {
  maxNameplate: number;
  maxNameplates: number;
  /** Unpaired rooms older than this expire. */
  nameplateTtlMs: number;
  /** A burned nameplate stays burned this long. */
  burnTtlMs: number;
}

interface Room {
  readonly nameplate: number;
  readonly createdAt: number;
  a: ConnId | undefined;
  b: ConnId | undefined;
  paired: boolean;
  pipe: { a: boolean; b: boolean };
  outcomeReported: boolean;
  /** Binary bytes piped through this room, both directions. */
  bytes: number;
}

export type AllocateResult = { kind: 'allocated'; nameplate: number } | { kind: 'rejected'; code: 'RELAY_LIMIT' };

export type ClaimResult =
  | { kind: 'waiting'; side: 'a' }
  | { kind: 'paired'; side: 'b'; peer: ConnId }
  | { kind: 'rejected'; code: 'NAMEPLATE_IN_USE' | 'NAMEPLATE_BURNED'; failedClaim: true }
  | { kind: 'rejected'; code: 'RELAY_LIMIT' | 'RELAY_PROTOCOL'; failedClaim: false };

export interface Membership {
  nameplate: number;
  side: Side;
  peer: ConnId | undefined;
  paired: boolean;
  piped: boolean;
}

export class Rooms {
  private readonly rooms = new Map<number, Room>();
  private readonly byConn = new Map<ConnId, Room>();
  /** Burned nameplate → time its burn ends. */
  private readonly burned = new Map<number, number>();

  constructor(private readonly options: RoomsOptions) {}

  /** Nameplates in use or burned. */
  get nameplates(): number {
    return this.rooms.size + this.burned.size;
  }

  get pairedRooms(): number {
    let n = 0;
    for (const room of this.rooms.values()) if (room.paired) n++;
    return n;
  }

  /** Gives `conn` the smallest free nameplate as side "a". */
  allocate(conn: ConnId, now: number): AllocateResult {
    if (this.nameplates >= this.options.maxNameplates) return { kind: 'rejected', code: 'RELAY_LIMIT' };
    for (let n = 1; n <= this.options.maxNameplate; n++) {
      if (this.rooms.has(n) || this.burned.has(n)) continue;
      this.create(n, conn, now);
      return { kind: 'allocated', nameplate: n };
    }
    return { kind: 'rejected', code: 'RELAY_LIMIT' };
  }

  claim(conn: ConnId, nameplate: number, now: number): ClaimResult {
    if (!Number.isSafeInteger(nameplate) || nameplate < 1 || nameplate > this.options.maxNameplate) {
      return { kind: 'rejected', code: 'RELAY_PROTOCOL', failedClaim: false };
    }
    const burnEnds = this.burned.get(nameplate);
    if (burnEnds !== undefined && now < burnEnds) return { kind: 'rejected', code: 'NAMEPLATE_BURNED', failedClaim: true };
    if (burnEnds !== undefined) this.burned.delete(nameplate);
    const room = this.rooms.get(nameplate);
    if (room === undefined) {
      if (this.nameplates >= this.options.maxNameplates) return { kind: 'rejected', code: 'RELAY_LIMIT', failedClaim: false };
      this.create(nameplate, conn, now);
      return { kind: 'waiting', side: 'a' };
    }
    if (room.paired || room.a === undefined) return { kind: 'rejected', code: 'NAMEPLATE_IN_USE', failedClaim: true };
    room.b = conn;
    room.paired = true;
    this.byConn.set(conn, room);
    return { kind: 'paired', side: 'b', peer: room.a };
  }

  membership(conn: ConnId): Membership | undefined {
    const room = this.byConn.get(conn);
    if (room === undefined) return undefined;
    const side: Side = room.a === conn ? 'a' : 'b';
    return {
      nameplate: room.nameplate,
      side,
      peer: side === 'a' ? room.b : room.a,
      paired: room.paired,
      piped: room.pipe.a && room.pipe.b,
    };
  }

  /** Records that `conn` wants the data pipe; true exactly when this request opens it. */
  requestPipe(conn: ConnId): boolean {
    const room = this.byConn.get(conn);
    if (room === undefined || !room.paired) return false;
    const side: Side = room.a === conn ? 'a' : 'b';
    if (room.pipe[side]) return false;
    room.pipe[side] = true;
    return room.pipe.a && room.pipe.b;
  }

  /** Adds piped bytes to the room's total and returns the new total. */
  addBytes(conn: ConnId, bytes: number): number {
    const room = this.byConn.get(conn);
    if (room === undefined) return 0;
    room.bytes += bytes;
    return room.bytes;
  }

  /** True for the first outcome report of a room, so each transfer is counted once. */
  reportOutcome(conn: ConnId): boolean {
    const room = this.byConn.get(conn);
    if (room === undefined || !room.paired || room.outcomeReported) return false;
    room.outcomeReported = true;
    return true;
  }

  /** Burns the nameplate of `conn`'s paired room; returns both sides (the caller closes them) or undefined. */
  burn(conn: ConnId, now: number): { nameplate: number; a: ConnId | undefined; b: ConnId | undefined } | undefined {
    const room = this.byConn.get(conn);
    if (room === undefined || !room.paired) return undefined;
    const { a, b, nameplate } = room;
    this.rooms.delete(nameplate);
    if (a !== undefined) this.byConn.delete(a);
    if (b !== undefined) this.byConn.delete(b);
    this.burned.set(nameplate, now + this.options.burnTtlMs);
    return { nameplate, a, b };
  }

  /**
   * Removes `conn` from its room. Returns the peer still in the room, if any (the caller tells it and then
   * makes it leave too); the nameplate is freed once nobody is left.
   */
  leave(conn: ConnId): ConnId | undefined {
    const room = this.byConn.get(conn);
    if (room === undefined) return undefined;
    this.byConn.delete(conn);
    if (room.a === conn) room.a = undefined;
    if (room.b === conn) room.b = undefined;
    if (room.a === undefined && room.b === undefined) {
      this.rooms.delete(room.nameplate);
      return undefined;
    }
    return room.a ?? room.b;
  }

  /** Removes unpaired rooms older than the TTL and lapsed burns; returns the connections that were waiting. */
  expire(now: number): ConnId[] {
    const expired: ConnId[] = [];
    for (const room of this.rooms.values()) {
      if (room.paired || now - room.createdAt < this.options.nameplateTtlMs) continue;
      this.rooms.delete(room.nameplate);
      for (const conn of [room.a, room.b]) {
        if (conn === undefined) continue;
        this.byConn.delete(conn);
        expired.push(conn);
      }
    }
    for (const [nameplate, ends] of this.burned) if (now >= ends) this.burned.delete(nameplate);
    return expired;
  }

  private create(nameplate: number, conn: ConnId, now: number): void {
    const room: Room = {
      nameplate,
      createdAt: now,
      a: conn,
      b: undefined,
      paired: false,
      pipe: { a: false, b: false },
      outcomeReported: false,
      bytes: 0,
    };
    this.rooms.set(nameplate, room);
    this.byConn.set(conn, room);
  }
}
