/**
 * The relay core's table of WebSocket connections, each with the phase it is in. Phases, in order: greeting
 * (before hello) → ready (after welcome) → waiting (allocated or claimed, no peer yet) → paired; `closed` once the
 * relay has decided to close it (later input is ignored). A side a whose peer left before the key exchange
 * completed goes from paired back to waiting (PROTOCOL.md §3, `unpaired`).
 */
import { freshPingAllowance, type PingAllowance } from './ping-allowance.js';

export type ConnId = number;

export type Phase = 'greeting' | 'ready' | 'waiting' | 'paired' | 'closed';

export interface ConnState {
  /** The limit key of the client's address (address.ts). */
  readonly key: string;
  /** Counted by the connection limits, so released when it goes. */
  readonly admitted: boolean;
  phase: Phase;
  /** When the current phase began (idle timeout). */
  since: number;
  /** Waiting again after `unpaired`: messages of the pairing that ended may still arrive. */
  unpaired: boolean;
  /** What is left of its `ping` bound (ping-allowance.ts). */
  readonly pings: PingAllowance;
}

export class Connections {
  private readonly states = new Map<ConnId, ConnState>();
  private nextId = 1;

  get size(): number {
    return this.states.size;
  }

  /** A new connection, in the greeting phase. */
  add(key: string, admitted: boolean, now: number): ConnId {
    const conn = this.nextId++;
    this.states.set(conn, {
      key,
      admitted,
      phase: 'greeting',
      since: now,
      unpaired: false,
      pings: freshPingAllowance(now),
    });
    return conn;
  }

  get(conn: ConnId): ConnState | undefined {
    return this.states.get(conn);
  }

  /** The connection's state, unless it is gone or the relay has decided to close it. */
  open(conn: ConnId): ConnState | undefined {
    const state = this.states.get(conn);
    return state === undefined || state.phase === 'closed' ? undefined : state;
  }

  delete(conn: ConnId): void {
    this.states.delete(conn);
  }

  entries(): IterableIterator<[ConnId, ConnState]> {
    return this.states.entries();
  }
}

/** Moves a connection to `phase`; the idle timeout counts from now. */
export function enterPhase(state: ConnState, phase: Phase, now: number): void {
  state.phase = phase;
  state.since = now;
}
