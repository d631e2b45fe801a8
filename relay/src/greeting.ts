/**
 * The relay's answers outside any room: `hello` → `welcome` (or RELAY_INCOMPATIBLE), and `ping` → `pong` within its
 * bound (PROTOCOL.md §2.2, §2.8). Sans-IO, for the core (core.ts).
 */
import {
  PING_BURST,
  PING_REFILL_MS,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  type RelayToClient,
} from '@portunus/protocol';
import { enterPhase, type ConnId, type ConnState } from './connections.js';
import { takePing } from './ping-allowance.js';
import { unexpected, type Decision } from './room-decisions.js';

export interface WelcomeConfig {
  name: string;
  motd?: string | undefined;
  /** The relay serves the page: its welcome says so (`page: true`). */
  servesPage: boolean;
}

export function hello(conn: ConnId, state: ConnState, protocol: number, config: WelcomeConfig, now: number): Decision {
  if (!SUPPORTED_VERSIONS.includes(protocol)) {
    const message = `relay speaks protocol ${SUPPORTED_VERSIONS.join(', ')}, client asked for ${protocol}`;
    return { code: 'RELAY_INCOMPATIBLE', message, reason: 'incompatible' };
  }
  enterPhase(state, 'ready', now);
  return [{ type: 'send', conn, msg: welcome(config) }];
}

/** Keepalive for clients that cannot send WebSocket pings: any time after hello, within the bound. */
export function ping(conn: ConnId, state: ConnState, now: number): Decision {
  if (state.phase === 'greeting') return unexpected('ping');
  if (!takePing(state.pings, now)) {
    const message = `more than ${PING_BURST} pings at once, or more than one per ${PING_REFILL_MS} ms`;
    return { code: 'RELAY_PROTOCOL', message, reason: 'rate_limit' };
  }
  return [{ type: 'send', conn, msg: { type: 'pong' } }];
}

function welcome({ name: relay, motd, servesPage }: WelcomeConfig): RelayToClient {
  return {
    type: 'welcome',
    protocol: PROTOCOL_VERSION,
    relay,
    ...(motd === undefined ? {} : { motd }),
    ...(servesPage ? { page: true } : {}),
  };
}
