/**
 * Where the page finds its relay and what link it shares: the relay is the page's own origin (it served the page),
 * over ws: or wss: as the page came over http: or https:. The code travels only in the link's fragment, which a
 * browser never sends to a server.
 */
import { type Code, type DropCode, formatCode, formatDropCode, RELAY_PATH } from '@portunus/protocol';

export function relayUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${RELAY_PATH}`;
}

export function codeLink(origin: string, code: Code): string {
  return `${origin}/#${formatCode(code)}`;
}

/** A stored drop's link: the page opens it and downloads the drop (the code stays in the fragment, as above). */
export function dropLink(origin: string, code: DropCode): string {
  return `${origin}/#${formatDropCode(code)}`;
}
