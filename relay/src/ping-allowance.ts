/**
 * The bound on a client's `ping` messages (PROTOCOL.md §2.8), as a token bucket: PING_BURST pings at once, one more
 * every PING_REFILL_MS. Pure bookkeeping: the caller passes the time.
 */
import { PING_BURST, PING_REFILL_MS } from '@portunus/protocol';

export interface PingAllowance {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
}

export function freshPingAllowance(now: number): PingAllowance {
  return { tokens: PING_BURST, at: now };
}

/** Takes one ping from the allowance; false when the client pings faster than the bound. */
export function takePing(allowance: PingAllowance, now: number): boolean {
  const refill = Math.max(0, now - allowance.at) / PING_REFILL_MS;
  allowance.tokens = Math.min(PING_BURST, allowance.tokens + refill);
  allowance.at = now;
  if (allowance.tokens < 1) return false;
  allowance.tokens -= 1;
  return true;
}
