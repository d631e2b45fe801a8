/**
 * A streaming ZIP writer, sans I/O: each call returns the bytes to append, so memory holds one central directory
 * record per entry (bounded by maxDirectoryBytes) and nothing of the data. Entries are stored (method 0, no
 * compression) with a data descriptor (general purpose bit 3) carrying the CRC-32 known only at the end, and the
 * UTF-8 name flag (bit 11). ZIP64 is used only where a value does not fit: an entry of 0xFFFFFFFF bytes or more,
 * an offset at or beyond 0xFFFFFFFF, or 0xFFFF entries or more.
 *
 * The sizes are known before the data (the tar header gives them), and the local header carries them even though
 * bit 3 is set (APPNOTE 4.4.4 has them zero there): stored data has no end marker, so a reader that walks the local
 * headers (macOS Archive Utility, streaming unzippers) can only find the end of an entry from them. Info-ZIP Zip
 * writes known sizes beside bit 3 the same way; readers that follow the central directory are unaffected.
 *
 * References: PKWARE APPNOTE.TXT 6.3.10 — 4.3.7 local file header, 4.3.9 data descriptor (8-byte sizes when the
 * local header has a ZIP64 extra field, 4.3.9.2), 4.3.12 central directory header, 4.3.14–4.3.16 ZIP64 end of
 * central directory record and locator, 4.4.4 bit 3 (CRC and sizes zero in the local header), 4.5.3 ZIP64 extended
 * information (only the fields whose header value is 0xFFFFFFFF, in the order usize, csize, offset), appendix D
 * (bit 11, UTF-8). A ZIP64 entry has local sizes 0xFFFFFFFF, a ZIP64 extra field with both sizes, and 8-byte
 * descriptor sizes, as Info-ZIP Zip 3.0 and CPython's zipfile write them to an unseekable output; version
 * "made by" Unix with the mode in the high 16 bits of the external attributes (and the MS-DOS directory bit 0x10)
 * is Info-ZIP's, which 7-Zip, Windows Explorer and macOS Archive Utility all read.
 */
import { createError } from '@portunus/protocol';
import { crc32 } from './crc32.js';

/** Central directory bytes kept until the end: room for 100,000 entries with names of about 280 bytes. */
export const MAX_DIRECTORY_BYTES = 32 * 1024 * 1024;

const U32 = 0xffffffff;
const U16 = 0xffff;
const FLAGS = 0x0808;
const VERSION_STORED = 20;
const VERSION_ZIP64 = 45;
/** Version made by: Unix (3) in the high byte, spec 4.5 in the low byte. */
const MADE_BY = (3 << 8) | VERSION_ZIP64;

export interface ZipEntry {
  /** '/'-separated; folders end with '/'. */
  path: string;
  directory: boolean;
  /** Exact data length, known in advance (the tar header gives it). */
  size: number;
  executable: boolean;
  /** Seconds since the epoch. */
  mtime: number;
}

interface Written {
  name: Uint8Array;
  entry: ZipEntry;
  crc: number;
  offset: number;
  dosTime: number;
  dosDate: number;
}

const encoder = new TextEncoder();

export class ZipWriter {
  private offset = 0;
  private readonly written: Written[] = [];
  private directoryBytes = 0;
  private current: { written: Written; received: number; zip64: boolean } | undefined;

  constructor(private readonly maxDirectoryBytes = MAX_DIRECTORY_BYTES) {}

  /** The local file header of the next entry. */
  begin(entry: ZipEntry): Uint8Array {
    if (this.current !== undefined) throw createError('INTERNAL', 'a zip entry is still open');
    const name = encoder.encode(entry.path);
    if (name.length > U16) throw createError('INTERNAL', 'a zip entry name is longer than 65535 bytes');
    this.directoryBytes += 46 + name.length + 28;
    if (this.directoryBytes > this.maxDirectoryBytes) {
      throw createError('UNSAFE_PATH', `the folder's listing is too large to save as a zip`, {
        hint: 'The page keeps the list of names until the zip ends; ask for an archive of the folder instead.',
      });
    }
    const { dosTime, dosDate } = dosDateTime(entry.mtime);
    const written: Written = { name, entry, crc: 0, offset: this.offset, dosTime, dosDate };
    const zip64 = entry.size >= U32;
    const header = new Bytes(30 + name.length + (zip64 ? 20 : 0));
    header
      .u32(0x04034b50)
      .u16(zip64 ? VERSION_ZIP64 : VERSION_STORED)
      .u16(FLAGS)
      .u16(0);
    header.u16(dosTime).u16(dosDate).u32(0);
    header.u32(zip64 ? U32 : entry.size).u32(zip64 ? U32 : entry.size);
    header
      .u16(name.length)
      .u16(zip64 ? 20 : 0)
      .bytes(name);
    if (zip64) header.u16(0x0001).u16(16).u64(entry.size).u64(entry.size);
    this.current = { written, received: 0, zip64 };
    return this.emit(header.done());
  }

  /** Passes data of the open entry through, updating its CRC. */
  data(bytes: Uint8Array): Uint8Array {
    const current = this.current;
    if (current === undefined) throw createError('INTERNAL', 'zip data outside an entry');
    current.received += bytes.length;
    if (current.received > current.written.entry.size) throw createError('INTERNAL', 'a zip entry got too much data');
    current.written.crc = crc32(bytes, current.written.crc);
    return this.emit(bytes);
  }

  /** The open entry's data descriptor. */
  end(): Uint8Array {
    const current = this.current;
    if (current === undefined) throw createError('INTERNAL', 'no zip entry is open');
    const { written, received, zip64 } = current;
    if (received !== written.entry.size) throw createError('INTERNAL', 'a zip entry got too little data');
    this.current = undefined;
    this.written.push(written);
    const descriptor = new Bytes(zip64 ? 24 : 16).u32(0x08074b50).u32(written.crc);
    if (zip64) descriptor.u64(received).u64(received);
    else descriptor.u32(received).u32(received);
    return this.emit(descriptor.done());
  }

  /** The central directory and its end records: the last bytes of the zip. */
  finish(): Uint8Array {
    if (this.current !== undefined) throw createError('INTERNAL', 'a zip entry is still open');
    const start = this.offset;
    const records = this.written.map((w) => centralRecord(w));
    let size = 0;
    for (const r of records) size += r.length;
    const count = this.written.length;
    const zip64 = count >= U16 || start >= U32 || size >= U32;
    const tail = new Bytes((zip64 ? 56 + 20 : 0) + 22);
    if (zip64) {
      const recordOffset = start + size;
      tail.u32(0x06064b50).u64(44).u16(MADE_BY).u16(VERSION_ZIP64).u32(0).u32(0);
      tail.u64(count).u64(count).u64(size).u64(start);
      tail.u32(0x07064b50).u32(0).u64(recordOffset).u32(1);
    }
    tail.u32(0x06054b50).u16(0).u16(0);
    tail.u16(zip64 ? U16 : count).u16(zip64 ? U16 : count);
    tail
      .u32(zip64 ? U32 : size)
      .u32(zip64 ? U32 : start)
      .u16(0);
    const out = new Uint8Array(size + tail.length);
    let at = 0;
    for (const r of records) {
      out.set(r, at);
      at += r.length;
    }
    out.set(tail.done(), at);
    this.written.length = 0;
    return this.emit(out);
  }

  private emit(bytes: Uint8Array): Uint8Array {
    this.offset += bytes.length;
    return bytes;
  }
}

function centralRecord({ name, entry, crc, offset, dosTime, dosDate }: Written): Uint8Array {
  const bigSize = entry.size >= U32;
  const bigOffset = offset >= U32;
  const extra = (bigSize ? 16 : 0) + (bigOffset ? 8 : 0);
  const mode = entry.directory ? 0o40755 : entry.executable ? 0o100755 : 0o100644;
  const r = new Bytes(46 + name.length + (extra > 0 ? 4 + extra : 0));
  r.u32(0x02014b50)
    .u16(MADE_BY)
    .u16(bigSize || bigOffset ? VERSION_ZIP64 : VERSION_STORED)
    .u16(FLAGS)
    .u16(0);
  r.u16(dosTime).u16(dosDate).u32(crc);
  r.u32(bigSize ? U32 : entry.size).u32(bigSize ? U32 : entry.size);
  r.u16(name.length)
    .u16(extra > 0 ? 4 + extra : 0)
    .u16(0)
    .u16(0)
    .u16(0);
  r.u32(((mode << 16) | (entry.directory ? 0x10 : 0)) >>> 0).u32(bigOffset ? U32 : offset);
  r.bytes(name);
  if (extra > 0) {
    r.u16(0x0001).u16(extra);
    if (bigSize) r.u64(entry.size).u64(entry.size);
    if (bigOffset) r.u64(offset);
  }
  return r.done();
}

/** MS-DOS date and time (APPNOTE 4.4.6) in the local time zone, clamped to 1980–2107; seconds in 2-second steps. */
function dosDateTime(mtime: number): { dosTime: number; dosDate: number } {
  const d = new Date(mtime * 1000);
  const year = d.getFullYear();
  if (year < 1980) return { dosTime: 0, dosDate: (1 << 5) | 1 };
  if (year > 2107) return { dosTime: (23 << 11) | (59 << 5) | 29, dosDate: (127 << 9) | (12 << 5) | 31 };
  return {
    dosTime: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    dosDate: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/** A little-endian record builder. */
class Bytes {
  private readonly view: DataView;
  private readonly buf: Uint8Array;
  private at = 0;

  constructor(readonly length: number) {
    this.buf = new Uint8Array(length);
    this.view = new DataView(this.buf.buffer);
  }

  u16(v: number): this {
    this.view.setUint16(this.at, v, true);
    this.at += 2;
    return this;
  }

  u32(v: number): this {
    this.view.setUint32(this.at, v, true);
    this.at += 4;
    return this;
  }

  u64(v: number): this {
    this.view.setBigUint64(this.at, BigInt(v), true);
    this.at += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.buf.set(b, this.at);
    this.at += b.length;
    return this;
  }

  done(): Uint8Array {
    if (this.at !== this.length) throw createError('INTERNAL', 'a zip record has the wrong length');
    return this.buf;
  }
}
