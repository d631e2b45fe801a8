/**
 * The HTTP responses of the page (PROTOCOL.md §2.12). Every one of them, 200 or 304, carries the same security
 * headers: a Content-Security-Policy that allows the page's own script, style and relay connection and nothing else
 * (no inline script, nothing third-party, no framing), no sniffing, no referrer. No cookie is ever set.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PageFile } from './page-files.js';

/**
 * `connect-src 'self'` covers the same-origin ws:/wss: of the relay (CSP Level 3 matches them to http:/https:).
 * `img-src data: blob:`: the QR code and previews drawn by the page itself. `worker-src 'self'`: the service worker.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every page response. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  // The file names carry no hash, so a browser revalidates each time; an unchanged file costs a 304.
  'cache-control': 'no-cache',
});

/** Answers GET or HEAD for one page file: 304 when the browser's copy is current, gzip when it accepts it. */
export function sendPageFile(req: IncomingMessage, res: ServerResponse, file: PageFile): void {
  const head = req.method === 'HEAD';
  const headers: Record<string, string | number> = { ...PAGE_HEADERS, etag: file.etag, vary: 'accept-encoding' };
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
