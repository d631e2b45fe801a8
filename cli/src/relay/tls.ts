/** TLS for wss:// relays: which certificate authorities a relay's certificate may chain to. */
import { rootCertificates } from 'node:tls';

export interface RelayTls {
  /** Options for the WebSocket client's TLS connection (none for ws://). */
  readonly socketOptions: { ca?: string[] };
}

/**
 * `extraCa`: PEM certificates trusted in addition to Node's default roots (--ca). Node replaces its roots with a
 * connection's `ca` option, so the roots are listed again here.
 */
export function relayTls(endpoint: URL, extraCa: readonly string[] | undefined): RelayTls {
  if (endpoint.protocol !== 'wss:' || extraCa === undefined) return { socketOptions: {} };
  return { socketOptions: { ca: [...rootCertificates, ...extraCa] } };
}
