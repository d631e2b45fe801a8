/**
 * The rooms under each nameplate (rooms.ts keeps the rules). A nameplate holds one room, or — allocated with
 * `seats` > 1 (PROTOCOL.md §2.4 "Seats", `portunus send --count N`) — one room per seat: each held by one connection
 * of the sender (the allocating one, then one per `join` with the allocation's token), so every rule of a room (one
 * key exchange, burn, unpaired, reconnect) holds per seat, and a claim pairs with whichever seat still waits.
 */
import type { Room } from './room.js';

export interface Seats {
  /** The allocation's token (canonical base64url): only the allocator's client can add seats. */
  readonly token: string;
  /** Seats in all, the allocator's included (at most MAX_SEATS). */
  readonly total: number;
  /** Connections that have held a seat, the allocator's included: never more than `total`, never given back. */
  taken: number;
}

/** What an allocation with seats starts with. */
export type SeatGrant = Omit<Seats, 'taken'>;

export class NameplateRooms {
  private readonly rooms = new Map<number, Room[]>();
  private readonly seats = new Map<number, Seats>();
  /** Rooms in all, every seat counted (each counts against max-nameplates). */
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(nameplate: number): boolean {
    return this.rooms.has(nameplate);
  }

  /** The rooms under `nameplate`; undefined when it is free. */
  get(nameplate: number): readonly Room[] | undefined {
    return this.rooms.get(nameplate);
  }

  nameplates(): Iterable<number> {
    return this.rooms.keys();
  }

  *values(): Iterable<Room> {
    for (const rooms of this.rooms.values()) yield* rooms;
  }

  /** Adds `room` under its nameplate; `seats` when it is the first of an allocation with seats. */
  add(room: Room, seats?: SeatGrant): void {
    const rooms = this.rooms.get(room.nameplate);
    if (rooms === undefined) this.rooms.set(room.nameplate, [room]);
    else rooms.push(room);
    this.count++;
    if (seats !== undefined && seats.total > 1) this.seats.set(room.nameplate, { ...seats, taken: 1 });
  }

  /** True while `nameplate` is an allocation with seats. */
  hasSeats(nameplate: number): boolean {
    return this.seats.has(nameplate);
  }

  /**
   * Takes one more seat of `nameplate` for a connection presenting `token`; false for a wrong token, a nameplate
   * without seats, or none left.
   */
  takeSeat(nameplate: number, token: string): boolean {
    const seats = this.seats.get(nameplate);
    if (seats === undefined || !sameToken(seats.token, token) || seats.taken >= seats.total) return false;
    seats.taken++;
    return true;
  }

  /** Forgets `room`; true when its nameplate is now free (no other seat's room is left under it). */
  remove(room: Room): boolean {
    const rooms = this.rooms.get(room.nameplate) ?? [];
    const at = rooms.indexOf(room);
    if (at < 0) return false;
    rooms.splice(at, 1);
    this.count--;
    if (rooms.length > 0) return false;
    this.rooms.delete(room.nameplate);
    this.seats.delete(room.nameplate);
    return true;
  }
}

/**
 * Compares two tokens without an early exit, so the time taken says nothing of how much of a guess was right (the
 * parser has checked both are canonical base64url of the same length).
 */
export function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
