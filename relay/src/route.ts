/**
 * Routing a rendezvous among several relay instances (PROTOCOL.md §12): what the core asks the shared state about
 * an allocate, claim, join or reconnect, and the answers it acts on. Plain data, so the core stays sans-IO.
 */
import type { Pending } from './connections.js';

export type RouteRequest =
  | { kind: 'allocate' }
  | { kind: 'claim'; nameplate: number }
  | { kind: 'join'; nameplate: number }
  | { kind: 'reconnect'; id: string };

export type Route =
  /** The room is (or is made) here; for an allocate, the nameplate the shared state reserved for this instance. */
  | { kind: 'local'; nameplate?: number }
  /** The room's home is another live instance, reached at this advertise URL. */
  | { kind: 'remote'; url: string }
  | { kind: 'burned' }
  | { kind: 'rate-limited' }
  /** No nameplate is free in the whole cluster. */
  | { kind: 'full' }
  /** The shared state could not be reached (or answered nonsense). */
  | { kind: 'unavailable' };

export type RouteOutcome = Route['kind'];

/** What the shared state is asked for a rendezvous message. */
export function routeRequest(msg: Pending['msg']): RouteRequest {
  switch (msg.type) {
    case 'allocate':
      return { kind: 'allocate' };
    case 'claim':
      return { kind: 'claim', nameplate: msg.nameplate };
    case 'join':
      return { kind: 'join', nameplate: msg.nameplate };
    case 'reconnect':
      return { kind: 'reconnect', id: msg.id };
  }
}
