/**
 * Links to the page a relay serves (`https://relay.example/#7-H7K-29A`): made by the sender when its relay serves the
 * page, taken by `portunus receive` in place of a code. The code travels only in the fragment, which browsers never
 * send to a server, so the relay that serves the page learns no more than it does from a CLI (the nameplate, when
 * the page claims it). A link holds the code: it is shown to the user like the code and never put in a log line.
 */
import { createError, PortunusError } from '@portunus/protocol/errors';
import { formatCode, parseCode, type Code } from '@portunus/protocol/code';
import { looksLikeDropCode, parseDropCode, type DropCode } from '@portunus/protocol/drop-code';
import { MAX_URL_LENGTH } from '../config/settings.js';
import { relayEndpoint } from '../relay-client/endpoint.js';

/**
 * What a link names: the code (a pickup code, or a stored drop's `D-…` code, whose link `send --drop` prints), and
 * the relay as the origin of the page (`https://relay.example`).
 */
export interface PageLink {
  code: Code | DropCode;
  relayOrigin: string;
}

/** Whether a link's code is a stored drop's (a pickup code has a nameplate). */
export function isDropCode(code: Code | DropCode): code is DropCode {
  return !('nameplate' in code);
}

const PAGE_SCHEME: Readonly<Record<string, string>> = { 'ws:': 'http:', 'wss:': 'https:' };
const HINT = 'A link looks like https://relay.example/#7-H7K-29A; or give the code alone, like 7-H7K-29A.';

/**
 * The page's address for a relay URL as the CLI was given it: the same host and port over http (for ws://) or
 * https (for wss://), path `/`, whatever path or query the WebSocket address had. `https://relay.example/`.
 */
export function pageOrigin(relayUrl: string): string {
  const ws = relayEndpoint(relayUrl);
  return `${PAGE_SCHEME[ws.protocol]!}//${ws.host}/`;
}

/** `pageUrl` (a page address ending in `/`) with the code as its fragment. */
export function pageLink(pageUrl: string, code: Code): string {
  return `${pageUrl}#${formatCode(code)}`;
}

/**
 * Whether what the user typed is meant as a link: a code never holds `/` or `#` (it is digits, Crockford symbols,
 * dashes, and perhaps the `portunus:` prefix), so anything with either is judged as a link and not as a code.
 */
export function looksLikeLink(text: string): boolean {
  return /[/#]/.test(text);
}

/**
 * A page link's code and relay. Anything but `http(s)://host[:port]/#CODE` is a USAGE error (before any
 * connection); a fragment that is not a code fails as a bad code does. No message repeats the link: it holds the code.
 */
export function parseLink(text: string): PageLink {
  if (text.length > MAX_URL_LENGTH) throw notALink(`a link is at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw notALink('this is neither a code nor a link');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw notALink('a link starts with https:// or http://');
  // A user name in a link is a classic disguise (https://relay.example@elsewhere/): refuse rather than guess.
  if (url.username !== '' || url.password !== '') throw notALink('a link to the page has no user name or password');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '')
    throw notALink("a link to the page has no path or query: only the relay's address and #code");
  if (url.hash.length <= 1) throw notALink("the link has no code after '#'");
  const fragment = decodeFragment(url.hash.slice(1));
  const code = looksLikeDropCode(fragment) ? parseDropCode(fragment) : parseCode(fragment);
  if (code instanceof PortunusError) throw code;
  return { code, relayOrigin: url.origin };
}

function decodeFragment(fragment: string): string {
  try {
    return decodeURIComponent(fragment);
  } catch {
    return fragment; // a stray % sign: parseCode refuses it as a code
  }
}

function notALink(message: string): PortunusError {
  return createError('USAGE', message, { hint: HINT });
}
