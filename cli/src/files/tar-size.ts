/**
 * Exact byte length of the tar stream tar-stream 3 `pack` produces, computed from the entries alone so a folder
 * offer can state its size before a byte is read. Mirrors tar-stream's headers.js `encode` (when a ustar header
 * suffices) and `encodePax` (the pax record layout); folder-source asserts the prediction while streaming and a
 * test checks it against real pack output, so a change in tar-stream cannot go unnoticed.
 */

export const TAR_BLOCK = 512;
/** Two zero blocks end an archive. */
export const TAR_END_SIZE = 2 * TAR_BLOCK;

const USTAR_NAME = 100;
const USTAR_PREFIX = 155;
const USTAR_LINKNAME = 100;

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Bytes needed to pad `size` to a whole number of blocks. */
export function tarPadding(size: number): number {
  const rest = size % TAR_BLOCK;
  return rest === 0 ? 0 : TAR_BLOCK - rest;
}

/** Whether tar-stream can encode the entry as a plain ustar header (same test as headers.js `encode`). */
function fitsUstar(name: string, linkname: string | undefined): boolean {
  // tar-stream falls back to pax for any non-ASCII name.
  if (byteLength(name) !== name.length) return false;
  let rest = name;
  let prefix = '';
  while (byteLength(rest) > USTAR_NAME) {
    const i = rest.indexOf('/');
    if (i === -1) return false;
    prefix += prefix ? '/' + rest.slice(0, i) : rest.slice(0, i);
    rest = rest.slice(i + 1);
  }
  if (byteLength(prefix) > USTAR_PREFIX) return false;
  return linkname === undefined || byteLength(linkname) <= USTAR_LINKNAME;
}

/** One pax record, "<len> <key>=<value>\n", whose length counts its own digits (headers.js `addLength`). */
function paxRecordSize(key: string, value: string): number {
  const len = byteLength(` ${key}=${value}\n`);
  let digits = Math.floor(Math.log(len) / Math.log(10)) + 1;
  if (len + digits >= Math.pow(10, digits)) digits++;
  return len + digits;
}

/** Header bytes of one entry: a ustar block, or a pax header block + padded pax records + the ustar block. */
export function tarHeaderSize(name: string, linkname?: string): number {
  if (fitsUstar(name, linkname)) return TAR_BLOCK;
  let pax = paxRecordSize('path', name);
  if (linkname) pax += paxRecordSize('linkpath', linkname);
  return TAR_BLOCK + pax + tarPadding(pax) + TAR_BLOCK;
}

/** Header, body and padding of one entry. */
export function tarEntrySize(name: string, size: number, linkname?: string): number {
  return tarHeaderSize(name, linkname) + size + tarPadding(size);
}
