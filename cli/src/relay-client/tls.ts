/**
 * TLS for wss:// relays: which certificate authorities a relay's certificate may chain to, and what a failed
 * certificate check means for the user.
 *
 * Node reports a rejected certificate as an OpenSSL verify code (DEPTH_ZERO_SELF_SIGNED_CERT, CERT_HAS_EXPIRED, …)
 * or as ERR_TLS_CERT_ALTNAME_INVALID; each kind becomes its own error (exit 6) whose message says what the
 * certificate says — its names, its issuer, its expiry — so the user knows whether to pass --ca, use another host
 * name or ask the relay's operator for a renewal. Everything taken from the certificate is the relay's text: it is
 * cut short here and stripped of control characters by the reporter.
 */
import { isIP, type createConnection as netCreateConnection } from 'node:net';
import { connect, rootCertificates, type ConnectionOptions, type PeerCertificate, type TLSSocket } from 'node:tls';
import { createError, type PortunusError } from '@portunus/protocol';

export interface RelayTls {
  /** Options for the WebSocket client's TLS connection (none for ws://). */
  readonly socketOptions: { createConnection?: typeof netCreateConnection };
  /** The user's error for a TLS failure of this connection; undefined when `err` is not one. */
  explain(err: Error & { code?: string }): PortunusError | undefined;
}

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);
/** Other OpenSSL verify codes and Node's TLS errors: a TLS failure, but none of the kinds above. */
const OTHER_TLS_FAILURE = /^(CERT_|INVALID_|UNABLE_TO_|ERR_SSL_|ERR_TLS_|HOSTNAME_|EPROTO$)/;

/**
 * `extraCa`: PEM certificates trusted in addition to Node's default roots (--ca). Node replaces its roots with a
 * connection's `ca` option, so the roots are listed again with them.
 */
export function relayTls(endpoint: URL, extraCa: readonly string[] | undefined): RelayTls {
  if (endpoint.protocol !== 'wss:') return { socketOptions: {}, explain: () => undefined };
  const ca = extraCa === undefined ? undefined : [...rootCertificates, ...extraCa];
  let peer: PeerCertificate | undefined;
  const createConnection = (options: ConnectionOptions & { path?: string }): TLSSocket => {
    const host = options.host ?? endpoint.hostname;
    const socket = connect({
      ...options,
      path: undefined, // ws passes the request path; to tls.connect a `path` is a Unix socket
      servername: options.servername ?? (isIP(host) === 0 ? host : ''), // SNI carries names only (RFC 6066)
      ...(ca === undefined ? {} : { ca }),
    });
    // 'secure' (handshake done) comes before Node checks the certificate and destroys a rejected socket, after
    // which the certificate is gone: keep it here, for the error's details only. The event is Node's internal one;
    // were it ever dropped, the errors would merely lose those details.
    socket.prependListener('secure', () => {
      const cert = socket.getPeerCertificate();
      if (cert !== null && Object.keys(cert).length > 0) peer = cert;
    });
    return socket;
  };
  // ws calls createConnection with one options object only (lib/websocket.js, initAsClient); its types copy all of
  // net.createConnection's overloads.
  return {
    socketOptions: { createConnection: createConnection as typeof netCreateConnection },
    explain: (err) => explainTlsFailure(err, endpoint, peer),
  };
}

/** The error for a TLS failure `err` of the connection to `endpoint`, `peer` the certificate it presented. */
export function explainTlsFailure(
  err: Error & { code?: string; cert?: PeerCertificate },
  endpoint: URL,
  peer: PeerCertificate | undefined,
): PortunusError | undefined {
  const code = err.code ?? '';
  const host = endpoint.hostname;
  const cert = peer ?? err.cert;
  if (code === 'DEPTH_ZERO_SELF_SIGNED_CERT') {
    return createError('TLS_SELF_SIGNED', `the relay at ${host} presented a self-signed certificate${forNames(cert)}`, {
      cause: err,
    });
  }
  if (UNTRUSTED.has(code)) {
    const issuer = cert?.issuer?.CN ?? cert?.issuer?.O;
    const by = issuer === undefined ? 'an authority' : `'${clip(String(issuer))}'`;
    return createError(
      'TLS_UNTRUSTED',
      `the relay's certificate${forNames(cert)} is issued by ${by}, which this computer does not trust`,
      { cause: err },
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = certificateNames(err.cert ?? cert);
    const them = names === '' ? 'another name' : names;
    return createError('TLS_WRONG_HOST', `the relay's certificate is for ${them}, not ${host}`, { cause: err });
  }
  if (code === 'CERT_HAS_EXPIRED') {
    const when = day(cert?.valid_to);
    return createError(
      'TLS_EXPIRED',
      `the relay's certificate${when === undefined ? ' has expired' : ` expired on ${when}`}`,
      { cause: err },
    );
  }
  if (code === 'CERT_NOT_YET_VALID') {
    const when = day(cert?.valid_from);
    return createError(
      'TLS_FAILED',
      `the relay's certificate is not valid yet${when === undefined ? '' : ` (from ${when})`}: check this computer's clock`,
      { cause: err },
    );
  }
  if (code === 'EPROTO' && /wrong version number/.test(err.message)) {
    return createError(
      'TLS_FAILED',
      `the relay at ${endpoint.host} does not answer TLS: is it a plain ws:// (http://) relay?`,
      { cause: err },
    );
  }
  if (OTHER_TLS_FAILURE.test(code)) {
    return createError(
      'TLS_FAILED',
      `TLS with the relay at ${endpoint.host} failed: ${clip(code)} (${clip(err.message)})`,
      { cause: err },
    );
  }
  return undefined;
}

/** " (for a.example, 127.0.0.1)", or nothing when the certificate names nothing. */
function forNames(cert: PeerCertificate | undefined): string {
  const names = certificateNames(cert);
  return names === '' ? '' : ` (for ${names})`;
}

/** The DNS names and IP addresses a certificate is for (its subjectAltName, else its common name), at most five. */
function certificateNames(cert: PeerCertificate | undefined): string {
  const alt = cert?.subjectaltname;
  const names =
    alt === undefined
      ? [cert?.subject?.CN].filter((n) => n !== undefined).map(String)
      : alt
          .split(', ')
          .filter((n) => /^(DNS|IP Address):/.test(n))
          .map((n) => n.slice(n.indexOf(':') + 1));
  const shown = names.slice(0, 5).map(clip).join(', ');
  return names.length > 5 ? `${shown}, …` : shown;
}

/** A certificate date ("Jan  2 00:00:00 2020 GMT") as "2020-01-02 00:00 UTC". */
function day(text: string | undefined): string | undefined {
  const date = text === undefined ? undefined : new Date(text);
  if (date === undefined || Number.isNaN(date.getTime())) return undefined;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function clip(text: string): string {
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}
