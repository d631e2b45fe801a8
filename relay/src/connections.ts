/**
 * The relay core's table of WebSocket connections, each with the phase it is in. Phases, in order: greeting
 * (before hello) → ready (after welcome) → waiting (allocated or claimed, no peer yet) → paired; `closed` once the
 * relay has decided to close it (later input is ignored). A side a whose peer left before the key exchange
 * completed goes from paired back to waiting (PROTOCOL.md §3, `unpaired`). With several relay instances (PROTOCOL.md
 * §12) a rendezvous message first waits in `routing` for the shared state's answer, and a connection whose room lives
 * on another instance is `linked`: its frames are spliced to that instance, the core decides nothing more for it.
 */
import type { ClientToRelay } from '@portunus/protocol';
import { freshPingAllowance, type PingAllowance } from './ping-allowance.js';

export type ConnId = number;

export type Phase = 'greeting' | 'ready' | 'routing' | 'linked' | 'waiting' | 'paired' | 'closed';

/** A rendezvous message waiting for its route (PROTOCOL.md §12), and its text as the client sent it. */
export interface Pending {
  readonly msg: Extract<ClientToRelay, { type: 'allocate' | 'claim' | 'join' | 'reconnect' }>;
  readonly text: string;
}

export interface ConnState {
  /** The limit key of the client's address (address.ts). */
  readonly key: string;
  /** Counted by the connection limits, so released when it goes. */
  readonly admitted: boolean;
  /** Another relay instance forwarding its client's connection (PROTOCOL.md §12): never forwarded again. */
  readonly link: boolean;
  /** The client's hello as it sent it: replayed to the instance holding the room when the connection is linked. */
  hello?: string;
  /** The rendezvous message waiting in `routing`. */
  pending?: Pending;
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
  add(key: string, admitted: boolean, now: number, link = false): ConnId {
    const conn = this.nextId++;
    this.states.set(conn, {
      key,
      admitted,
      link,
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
