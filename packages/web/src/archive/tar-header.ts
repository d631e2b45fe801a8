/**
 * One 512-byte tar header block, read and written as POSIX ustar (IEEE Std 1003.1-2001, "pax" format, ustar header
 * layout) with the pax extended records the CLI's tar-stream sender uses (PROTOCOL.md §4.5). Reading is strict:
 * every numeric field must be well-formed, the checksum must match, and the magic must be ustar or GNU.
 */
import { createError, type PortunusError } from '@portunus/protocol';
import { TAR_BLOCK, ustarSplit, utf8Length } from '@portunus/client';

export interface TarHeader {
  /** The full ustar name (`prefix/name`), before any pax `path` overrides it. */
  name: string;
  /** The typeflag character ('0', '5', 'x', …; '\0' is an old-style regular file). */
  typeflag: string;
  size: number;
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

export function tarError(why: string): PortunusError {
  return createError('PROTOCOL', `the folder data is not a valid tar stream (${why})`);
}

/** The header's own checksum: the byte sum with the checksum field read as eight spaces. */
function checksum(block: Uint8Array): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < TAR_BLOCK; i++) if (i < 148 || i >= 156) sum += block[i]!;
  return sum;
}

function text(block: Uint8Array, offset: number, length: number, field: string): string {
  const field_ = block.subarray(offset, offset + length);
  const end = field_.indexOf(0);
  try {
    return utf8.decode(end === -1 ? field_ : field_.subarray(0, end));
  } catch {
    throw tarError(`the ${field} field is not UTF-8`);
  }
}

/** An octal field (digits, then spaces or NULs), or a base-256 one (first byte 0x80, as tar-stream writes sizes). */
function number(block: Uint8Array, offset: number, length: number, field: string): number {
  const bytes = block.subarray(offset, offset + length);
  if (bytes[0] === 0x80) {
    let value = 0;
    for (let i = 1; i < length; i++) value = value * 256 + bytes[i]!;
    if (!Number.isSafeInteger(value)) throw tarError(`the ${field} field is too large`);
    return value;
  }
  let i = 0;
  while (i < length && bytes[i] === 0x20) i++;
  let value = 0;
  let digits = 0;
  for (; i < length && bytes[i]! >= 0x30 && bytes[i]! <= 0x37; i++, digits++) value = value * 8 + bytes[i]! - 0x30;
  for (; i < length; i++) if (bytes[i] !== 0 && bytes[i] !== 0x20) throw tarError(`the ${field} field is not octal`);
  if (digits === 0 && field !== 'mtime') throw tarError(`the ${field} field is empty`);
  return value;
}

function isZero(block: Uint8Array): boolean {
  for (let i = 0; i < TAR_BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** `undefined` for an all-zero block (the end of the archive). */
export function decodeHeader(block: Uint8Array): TarHeader | undefined {
  if (isZero(block)) return undefined;
  if (number(block, 148, 8, 'checksum') !== checksum(block)) throw tarError('a header checksum does not match');
  const magic = String.fromCharCode(...block.subarray(257, 263));
  if (magic !== 'ustar\0' && magic !== 'ustar ') throw tarError('a header is neither ustar nor GNU');
  const name = text(block, 0, 100, 'name');
  const prefix = magic === 'ustar\0' ? text(block, 345, 155, 'prefix') : '';
  return {
    name: prefix === '' ? name : `${prefix}/${name}`,
    typeflag: String.fromCharCode(block[156]!),
    size: number(block, 124, 12, 'size'),
    mode: number(block, 100, 8, 'mode'),
    mtime: number(block, 136, 12, 'mtime'),
    linkname: text(block, 157, 100, 'linkname'),
  };
}

/** Zero-padded octal digits and a trailing space, as tar-stream's headers.js `encodeOct` writes them. */
function octal(value: number, digits: number): string {
  return value.toString(8).padStart(digits, '0') + ' ';
}

function put(block: Uint8Array, offset: number, value: string): void {
  block.set(encoder.encode(value), offset);
}

export interface HeaderFields {
  /** Must satisfy ustarSplit (the caller writes a pax header and a placeholder name otherwise). */
  name: string;
  typeflag: '0' | '5' | 'x';
  size: number;
  mode: number;
  mtime: number;
}

/** A ustar header block laid out as tar-stream 3 `pack` writes it (uid = gid = 0, no uname or gname). */
export function encodeHeader(fields: HeaderFields): Uint8Array {
  const split = ustarSplit(fields.name);
  if (split === undefined) throw createError('INTERNAL', 'a tar name needs a pax header');
  const block = new Uint8Array(TAR_BLOCK);
  put(block, 0, split.name);
  put(block, 100, octal(fields.mode & 0o7777, 6));
  put(block, 108, octal(0, 6));
  put(block, 116, octal(0, 6));
  if (fields.size.toString(8).length > 11) {
    block[124] = 0x80;
    for (let i = 11, n = fields.size; i > 0; i--, n = Math.floor(n / 256)) block[124 + i] = n % 256;
  } else put(block, 124, octal(fields.size, 11));
  put(block, 136, octal(fields.mtime, 11));
  put(block, 156, fields.typeflag);
  put(block, 257, 'ustar\x0000');
  put(block, 329, octal(0, 6));
  put(block, 337, octal(0, 6));
  if (split.prefix !== '') put(block, 345, split.prefix);
  put(block, 148, octal(checksum(block), 6));
  return block;
}

/** Pax records "<len> <key>=<value>\n", where len counts its own digits (tar-stream's headers.js `addLength`). */
export function encodePax(records: readonly (readonly [string, string])[]): Uint8Array {
  let out = '';
  for (const [key, value] of records) {
    const body = ` ${key}=${value}\n`;
    let len = utf8Length(body) + 1;
    while (String(len).length + utf8Length(body) !== len) len++;
    out += len + body;
  }
  return encoder.encode(out);
}

/** Parses pax records strictly: every record's length must be right and its value UTF-8. */
export function decodePax(bytes: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < bytes.length) {
    const space = bytes.indexOf(0x20, offset);
    const digits = space === -1 ? '' : String.fromCharCode(...bytes.subarray(offset, space));
    if (!/^[1-9][0-9]{0,5}$/.test(digits)) throw tarError('a pax record has no length');
    const end = offset + Number(digits);
    if (end > bytes.length || bytes[end - 1] !== 0x0a) throw tarError('a pax record has the wrong length');
    let record: string;
    try {
      record = utf8.decode(bytes.subarray(space + 1, end - 1));
    } catch {
      throw tarError('a pax record is not UTF-8');
    }
    const equals = record.indexOf('=');
    if (equals <= 0) throw tarError('a pax record has no key');
    records.set(record.slice(0, equals), record.slice(equals + 1));
    offset = end;
  }
  return records;
}
