/**
 * The HTTP responses of the page (PROTOCOL.md §2.12). Every one of them, 200 or 304, carries the same security
 * headers: a Content-Security-Policy that allows the page's own script, style and relay connection and nothing else
 * (no inline script, nothing third-party, no framing), no sniffing, no referrer. No cookie is ever set.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PageFile } from './page-files.js';

/**
 * The page's Content-Security-Policy. `connect-src 'self'` covers the relay's same-origin ws:/wss: in browsers that
 * follow CSP Level 3 (Chromium, Firefox); older WebKit does not, so the relay's own WebSocket origin is named too,
 * when the request's Host is a plain host[:port] (anything else gets 'self' alone: no header text comes from a
 * request unchecked). `img-src data: blob:`: the QR code and previews the page draws. `worker-src`: the service worker.
 * `frame-src 'self'`: the hidden frame that opens a download the service worker streams (save/download-saver.ts).
 */
export function pageCsp(host: string | undefined): string {
  const relay = host !== undefined && PLAIN_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    `connect-src 'self'${relay}`,
    "worker-src 'self'",
    "frame-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** A DNS name or IPv4 address, or a bracketed IPv6 address, with an optional port: nothing a CSP would read apart. */
const PLAIN_HOST = /^(?:[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,20}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** Headers on every page response (with the CSP of pageCsp). */
export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  // The file names carry no hash, so a browser revalidates each time; an unchanged file costs a 304.
  'cache-control': 'no-cache',
});

/** Answers GET or HEAD for one page file: 304 when the browser's copy is current, gzip when it accepts it. */
export function sendPageFile(req: IncomingMessage, res: ServerResponse, file: PageFile): void {
  const head = req.method === 'HEAD';
  const headers: Record<string, string | number> = {
    'content-security-policy': pageCsp(req.headers.host),
    ...PAGE_HEADERS,
    etag: file.etag,
    vary: 'accept-encoding',
  };
  if (matchesEtag(req.headers['if-none-match'], file.etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = file.gzip !== undefined && acceptsGzip(req.headers['accept-encoding']);
  const body = gzip ? file.gzip! : file.body;
  res.writeHead(200, {
    ...headers,
    'content-type': file.type,
    'content-length': body.length,
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(head ? undefined : body);
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined || header.length > 1024) return false;
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === etag || tag === '*');
}

function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined || header.length > 1024) return false;
  return header.split(',').some((entry) => {
    const [coding, ...params] = entry.trim().toLowerCase().split(';');
    return coding === 'gzip' && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
  });
}
