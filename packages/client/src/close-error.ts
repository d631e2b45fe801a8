/**
 * What a relay connection's end means for the user, in the order of evidence (PROTOCOL.md §2.10): the same for
 * every relay client (the CLI's over ws, the page's over the browser's WebSocket).
 */
import { createError, errorCodeForClose, PortunusError } from '@portunus/protocol';

export interface CloseEvidence {
  /** The relay's own `error` message, if one came before the close. */
  relayError?: PortunusError;
  /** Whether the relay said `peer-left`. */
  peerLeft: boolean;
  code: number;
}

export function errorForClose({ relayError, peerLeft, code }: CloseEvidence): PortunusError {
  if (relayError !== undefined) return relayError;
  if (peerLeft) return createError('PEER_GONE', 'the other side disconnected');
  const mapped = errorCodeForClose(code);
  if (mapped !== undefined) return createError(mapped, `the relay closed the connection (${code})`);
  if (code === 1006 || code === 1001) return createError('RELAY_UNREACHABLE', 'lost the connection to the relay');
  return createError('RELAY_PROTOCOL', `the relay closed the connection unexpectedly (${code})`);
}

/** An aborted connection attempt: the caller's own error, a timeout, or a cancel. */
export function abortError(reason: unknown): PortunusError {
  if (reason instanceof PortunusError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return createError('TIMEOUT', 'timed out');
  return createError('INTERRUPTED', 'cancelled');
}
