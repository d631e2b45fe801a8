/**
 * How a relay spends its grace period on shutdown (PROTOCOL.md §2.11, README "Shutdown"): first paired rooms get to
 * finish (drain), then everything left is closed with RELAY_SHUTDOWN and the clients get time to answer the
 * closing handshake, then the rest is terminated. Both waits together fit in the grace period, so the whole
 * shutdown ends inside it (a container's stop timeout, for one, is a hard deadline).
 */

/** The longest wait for closing handshakes: one round trip, with room for a slow client. */
export const CLOSE_HANDSHAKE_MS = 2000;

export interface ShutdownSchedule {
  /** Time paired rooms get to finish on their own. */
  drainMs: number;
  /** Time the clients then get to complete the closing handshake. */
  handshakeMs: number;
}

/** Splits `graceMs`: the last quarter of it, at most CLOSE_HANDSHAKE_MS, for the closing handshake. */
export function shutdownSchedule(graceMs: number): ShutdownSchedule {
  const grace = Math.max(0, graceMs);
  const handshakeMs = Math.min(CLOSE_HANDSHAKE_MS, Math.floor(grace / 4));
  return { drainMs: grace - handshakeMs, handshakeMs };
}
