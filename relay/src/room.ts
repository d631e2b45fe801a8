/**
 * One room's state (rooms.ts keeps them all): its nameplate or reconnect id, its two sides, and what the current
 * pairing has done; and what the rooms answer about one.
 */
import type { Side } from '@portunus/protocol';
import type { ConnId } from './connections.js';

/** What one pairing has done; reset when side b leaves before the key exchange completed. */
export interface Pairing {
  pipe: { a: boolean; b: boolean };
  outcomeReported: boolean;
  /** Binary bytes piped through this room, both directions. */
  bytes: number;
  /** `msg` messages each side has sent since pairing (counted, never decoded). */
  sent: { a: number; b: number };
}

export interface Room {
  /** The nameplate; 0 for a room met under a reconnect id. */
  readonly nameplate: number;
  /** A room met under a reconnect id: the id, and the limit key of the address waiting in it until it is paired. */
  readonly rejoin?: { readonly id: string; waiting: string | undefined };
  /** Kept when the room goes back to waiting, so nameplate-ttl counts from the first claim. */
  readonly createdAt: number;
  a: ConnId | undefined;
  b: ConnId | undefined;
  paired: boolean;
  pairing: Pairing;
}

export function freshPairing(): Pairing {
  return { pipe: { a: false, b: false }, outcomeReported: false, bytes: 0, sent: { a: 0, b: 0 } };
}

export function sideOf(room: Room, conn: ConnId): Side {
  return room.a === conn ? 'a' : 'b';
}

export type AllocateResult = { kind: 'allocated'; nameplate: number } | { kind: 'rejected'; code: 'RELAY_LIMIT' };

export type JoinResult =
  | { kind: 'waiting' }
  | { kind: 'rejected'; code: 'NAMEPLATE_IN_USE'; failedClaim: true }
  | { kind: 'rejected'; code: 'RELAY_LIMIT'; failedClaim: false };

export type ClaimResult =
  | { kind: 'waiting'; side: 'a' }
  | { kind: 'paired'; side: 'b'; peer: ConnId }
  | { kind: 'rejected'; code: 'NAMEPLATE_IN_USE' | 'NAMEPLATE_BURNED'; failedClaim: true }
  | { kind: 'rejected'; code: 'RELAY_LIMIT' | 'RELAY_PROTOCOL'; failedClaim: false };

export type ReconnectResult =
  | { kind: 'waiting' }
  | { kind: 'paired'; peer: ConnId }
  | { kind: 'rejected'; code: 'NAMEPLATE_IN_USE'; failedClaim: true }
  | { kind: 'rejected'; code: 'RELAY_LIMIT'; failedClaim: false };

/** What leaving did to the room: nothing left to tell, side a back to waiting, or a peer to close. */
export type Departure = { kind: 'alone' } | { kind: 'unpaired'; peer: ConnId } | { kind: 'peer-left'; peer: ConnId };

export interface Membership {
  nameplate: number;
  side: Side;
  peer: ConnId | undefined;
  paired: boolean;
  piped: boolean;
}

export interface Burned {
  nameplate: number;
  a: ConnId | undefined;
  b: ConnId | undefined;
  /** False when an address was at its cap of remembered burns: the nameplate is free again at once. */
  remembered: boolean;
}
