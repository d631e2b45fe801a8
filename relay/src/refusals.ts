/**
 * Refusals of a rendezvous: a claim or join the room rules refused, and a route the shared state of several relay
 * instances refused or could not decide (PROTOCOL.md §12; a `local` route is decided by the room rules, a `remote`
 * one is linked).
 */
import type { Refusal } from './room-decisions.js';
import type { ClaimResult } from './room.js';
import type { Route } from './route.js';

export function claimRefusal(code: Extract<ClaimResult, { kind: 'rejected' }>['code'], maxNameplate: number): Refusal {
  switch (code) {
    case 'RELAY_PROTOCOL':
      return { code, message: `nameplate must be from 1 to ${maxNameplate}`, reason: 'bad_message' };
    case 'RELAY_LIMIT':
      return { code, message: 'too many nameplates in use', reason: 'limit' };
    case 'NAMEPLATE_BURNED':
      return { code, message: 'nameplate is burned', reason: 'burned' };
    case 'NAMEPLATE_IN_USE':
      return { code, message: 'nameplate already has two sides', reason: 'in_use' };
  }
}

export function routeRefusal(route: Exclude<Route, { kind: 'local' }>): Refusal {
  switch (route.kind) {
    case 'burned':
      return { code: 'NAMEPLATE_BURNED', message: 'nameplate is burned', reason: 'burned' };
    case 'rate-limited':
      return { code: 'RATE_LIMITED', message: 'too many failed claims', reason: 'rate_limit' };
    case 'full':
      return { code: 'RELAY_LIMIT', message: 'no free nameplate', reason: 'limit' };
    case 'remote':
      // A link is never forwarded again: the instances disagree on where the room lives (it just moved).
      return { code: 'RELAY_STATE_UNAVAILABLE', message: 'the room moved between relay instances', reason: 'cluster' };
    case 'unavailable':
      return { code: 'RELAY_STATE_UNAVAILABLE', message: "the relay's shared state is unavailable", reason: 'cluster' };
  }
}
