/**
 * The STUN and TURN servers a relay offers for the direct path in `paired.ice` (PROTOCOL.md §3, Messages): the
 * checks on an untrusted entry and its exact wire form. The relay's --stun/--turn and the CLI's --ice-server values
 * go through the same parseIceServer.
 */
import { asObject, asString } from './validate.js';

/**
 * A STUN or TURN server the relay offers for the direct path (`paired.ice`), in the shape WebRTC takes
 * (RTCIceServer with one URL). TURN credentials are the relay operator's to share; they only allow relaying.
 */
export interface IceServer {
  urls: string;
  username?: string;
  credential?: string;
}

/** At most this many ICE servers in `paired` (a WebRTC stack uses the first STUN and the first TURN server). */
export const MAX_ICE_SERVERS = 4;
const MAX_ICE_URL_LENGTH = 256;
const MAX_ICE_CREDENTIAL_LENGTH = 128;
/**
 * RFC 7064/7065 URIs with a host (DNS name, IPv4, or bracketed IPv6), an optional port and, for TURN, an optional
 * transport: `stun:198.51.100.7:3478`, `turn:turn.example.org?transport=tcp`, `turns:[2001:db8::1]:5349`.
 */
const ICE_URL = /^(stuns?:|turns?:)(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\?transport=(udp|tcp))?$/;
const CREDENTIAL = /^[\x20-\x7e]*$/;

/** Checks an ICE server URL's form (a TURN transport parameter is allowed only on turn:/turns:). */
export function isIceUrl(url: string): boolean {
  const m = url.length <= MAX_ICE_URL_LENGTH ? ICE_URL.exec(url) : null;
  if (m === null) return false;
  if (m[3] !== undefined && Number(m[3].slice(1)) > 65535) return false;
  return m[4] === undefined || m[1]!.startsWith('turn');
}

/** Validates one ICE server entry; TURN needs a username and a credential, STUN takes neither. */
export function parseIceServer(value: unknown): IceServer | undefined {
  const o = asObject(value);
  const urls = o === undefined ? undefined : asString(o.urls, MAX_ICE_URL_LENGTH);
  if (o === undefined || urls === undefined || !isIceUrl(urls)) return undefined;
  const isTurn = urls.startsWith('turn');
  if (!isTurn) return o.username === undefined && o.credential === undefined ? { urls } : undefined;
  const username = asString(o.username, MAX_ICE_CREDENTIAL_LENGTH);
  const credential = asString(o.credential, MAX_ICE_CREDENTIAL_LENGTH);
  if (username === undefined || credential === undefined) return undefined;
  if (!CREDENTIAL.test(username) || !CREDENTIAL.test(credential)) return undefined;
  return { urls, username, credential };
}

/** The `ice` list of `paired`: every entry valid and at most MAX_ICE_SERVERS of them, or undefined. */
export function parseIceServers(value: unknown): IceServer[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_ICE_SERVERS) return undefined;
  const out: IceServer[] = [];
  for (const item of value) {
    const server = parseIceServer(item);
    if (server === undefined) return undefined;
    out.push(server);
  }
  return out;
}

/** One entry as it goes on the wire (fields in the documented order, extra properties dropped). */
export function encodeIceServer(server: IceServer): IceServer {
  return server.username === undefined
    ? { urls: server.urls }
    : { urls: server.urls, username: server.username, credential: server.credential ?? '' };
}
