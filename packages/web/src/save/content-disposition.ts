/**
 * `Content-Disposition: attachment` for a download's file name (RFC 6266 §4.1, §4.3): a quoted ASCII `filename`
 * for old clients, and `filename*` in the RFC 8187 (formerly RFC 5987) ext-value form, UTF-8 percent-encoded, which
 * every current browser prefers. Names come from the network: quotes, backslashes and controls never reach the
 * header unencoded.
 */

/** RFC 8187 §3.2.1 attr-char: everything else is percent-encoded from its UTF-8 bytes. */
const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/;

function percentEncode(name: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(name)) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && ATTR_CHAR.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Printable ASCII but the quote and backslash stay; everything else becomes '_'. */
function asciiFallback(name: string): string {
  return name.replace(/[^\x20-\x7e]|["\\]/gu, '_');
}

export function contentDisposition(name: string): string {
  return `attachment; filename="${asciiFallback(name)}"; filename*=UTF-8''${percentEncode(name)}`;
}
