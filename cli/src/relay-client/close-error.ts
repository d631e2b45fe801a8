/** What a relay connection's end means for the user, in the order of evidence (see PROTOCOL.md §2.10). */
import { createError, errorCodeForClose, PortunusError, RELAY_PATH } from '@portunus/protocol';
import type { RelayTls } from './tls.js';

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

/** The relay's HTTP server answered the upgrade with `status` instead of switching to WebSocket. */
export function errorForResponse(status: number, url: string): PortunusError {
  return status === 404
    ? createError('RELAY_INCOMPATIBLE', `no Portunus ${RELAY_PATH} endpoint at ${url} (HTTP 404)`)
    : createError('RELAY_UNREACHABLE', `relay refused the connection (HTTP ${status})`);
}

/** A socket error: while `connecting` (before the welcome), the relay was not reached; later, the connection broke. */
export function errorForSocket(
  err: Error & { code?: string },
  connecting: boolean,
  url: string,
  tls: RelayTls,
): PortunusError {
  if (connecting) {
    return (
      tls.explain(err) ??
      createError('RELAY_UNREACHABLE', `cannot reach the relay at ${url}: ${err.code ?? err.message}`, { cause: err })
    );
  }
  if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
    return createError('MESSAGE_TOO_BIG', 'the relay sent a frame larger than this client accepts');
  return createError('RELAY_PROTOCOL', `relay connection error: ${err.code ?? err.message}`, { cause: err });
}
