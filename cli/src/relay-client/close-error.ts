/** The Node-only ends of a relay connection (an HTTP answer, a socket error); the rest is the client core's. */
import { createError, type PortunusError, RELAY_PATH } from '@portunus/protocol';
import type { RelayTls } from './tls.js';

export { abortError, errorForClose, type CloseEvidence } from '@portunus/client';

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
