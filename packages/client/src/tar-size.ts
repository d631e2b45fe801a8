/**
 * Exact byte length of the tar stream tar-stream 3 `pack` produces, computed from the entries alone so a folder
 * offer can state its size before a byte is read. Mirrors tar-stream's headers.js `encode` (when a ustar header
 * suffices) and `encodePax` (the pax record layout); the CLI's folder-source asserts the prediction while streaming
 * and a test checks it against real pack output, so a change in tar-stream cannot go unnoticed. The page's tar writer
 * (packages/web/src/archive) encodes the same layout, so one size function serves both senders.
 */
import { utf8Length } from './utf8-length.js';

export const TAR_BLOCK = 512;
/** Two zero blocks end an archive. */
export const TAR_END_SIZE = 2 * TAR_BLOCK;

const USTAR_NAME = 100;
const USTAR_PREFIX = 155;
const USTAR_LINKNAME = 100;

/** Bytes needed to pad `size` to a whole number of blocks. */
export function tarPadding(size: number): number {
  const rest = size % TAR_BLOCK;
  return rest === 0 ? 0 : TAR_BLOCK - rest;
}

/**
 * How tar-stream splits a name into the ustar `prefix` and `name` fields (headers.js `encode`), or undefined when a
 * plain ustar header cannot hold the entry and a pax header is needed.
 */
export function ustarSplit(name: string, linkname?: string): { prefix: string; name: string } | undefined {
  // tar-stream falls back to pax for any non-ASCII name.
  if (utf8Length(name) !== name.length) return undefined;
  let rest = name;
  let prefix = '';
  while (rest.length > USTAR_NAME) {
    const i = rest.indexOf('/');
    if (i === -1) return undefined;
    prefix += prefix ? '/' + rest.slice(0, i) : rest.slice(0, i);
    rest = rest.slice(i + 1);
  }
  if (prefix.length > USTAR_PREFIX) return undefined;
  if (linkname !== undefined && utf8Length(linkname) > USTAR_LINKNAME) return undefined;
  return { prefix, name: rest };
}

/** One pax record, "<len> <key>=<value>\n", whose length counts its own digits (headers.js `addLength`). */
export function paxRecordSize(key: string, value: string): number {
  const len = utf8Length(` ${key}=${value}\n`);
  let digits = Math.floor(Math.log(len) / Math.log(10)) + 1;
  if (len + digits >= Math.pow(10, digits)) digits++;
  return len + digits;
}

/** Header bytes of one entry: a ustar block, or a pax header block + padded pax records + the ustar block. */
export function tarHeaderSize(name: string, linkname?: string): number {
  if (ustarSplit(name, linkname) !== undefined) return TAR_BLOCK;
  let pax = paxRecordSize('path', name);
  if (linkname) pax += paxRecordSize('linkpath', linkname);
  return TAR_BLOCK + pax + tarPadding(pax) + TAR_BLOCK;
}

/** Header, body and padding of one entry. */
export function tarEntrySize(name: string, size: number, linkname?: string): number {
  return tarHeaderSize(name, linkname) + size + tarPadding(size);
}
