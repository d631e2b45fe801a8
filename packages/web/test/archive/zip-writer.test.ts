import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BundleEntry } from '@portunus/protocol';
import { crc32 } from '../../src/archive/crc32.js';
import { tarToZip } from '../../src/archive/tar-to-zip.js';
import { ZipWriter } from '../../src/archive/zip-writer.js';
import { buildTar, pieces } from './tar-fixtures.js';
import { readZip, unzipList, unzipTest, writeChunks } from './zip-check.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portunus-zip-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

describe('crc32', () => {
  it('matches zlib over any split of the data', () => {
    const data = new Uint8Array(100_003).map((_, i) => (i * 7919 + (i >> 8)) & 0xff);
    expect(crc32(data)).toBe(zlibCrc32(data));
    for (const at of [0, 1, 3, 4, 5, 65_536, 100_002]) {
      expect(crc32(data.subarray(at), crc32(data.subarray(0, at)))).toBe(zlibCrc32(data));
    }
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});

describe('tar to zip', () => {
  it('makes a stored zip with data descriptors and UTF-8 names that unzip lists and zipfile checks', async () => {
    const long = `${'d'.repeat(120)}/${'é'.repeat(60)}.txt`;
    const body = new Uint8Array(70_000).map((_, i) => i & 0xff);
    const tar = await buildTar([
      { header: { name: 'photos/', type: 'directory' } },
      { header: { name: 'photos/run.sh', mode: 0o755 }, body: '#!/bin/sh\n' },
      { header: { name: 'photos/empty' }, body: '' },
      { header: { name: 'photos/sub/', type: 'directory' } },
      { header: { name: 'photos/sub/日本.bin' }, body },
      { header: { name: `photos/${long}` }, body: 'long' },
    ]);
    const offer = { kind: 'folder', name: 'photos', size: tar.length, files: 4, bytes: 10 + 70_000 + 4 } as const;
    const path = join(dir, 'photos.zip');
    await writeChunks(path, tarToZip(pieces(tar, 1000), offer));

    const names = ['photos/', 'photos/run.sh', 'photos/empty', 'photos/sub/', 'photos/sub/日本.bin', `photos/${long}`];
    expect(unzipList(path)).toEqual({ names, count: 6 });
    const report = readZip(path);
    expect(report.bad).toBeNull();
    expect(report.entries.map((e) => [e.name, e.size, e.sha256, e.flags, e.mode.toString(8)])).toEqual([
      ['photos/', 0, null, 0x0808, '40755'],
      ['photos/run.sh', 10, sha256('#!/bin/sh\n'), 0x0808, '100755'],
      ['photos/empty', 0, sha256(''), 0x0808, '100644'],
      ['photos/sub/', 0, null, 0x0808, '40755'],
      ['photos/sub/日本.bin', 70_000, sha256(body), 0x0808, '100644'],
      [`photos/${long}`, 4, sha256('long'), 0x0808, '100644'],
    ]);
    expect(unzipTest(path)).toBe(true);
  });

  it('a bundle (several paths in one send): its entries at the top of the zip; an entry not offered is refused', async () => {
    const tar = await buildTar([
      { header: { name: 'notes.txt' }, body: 'notes' },
      { header: { name: 'photos/', type: 'directory' } },
      { header: { name: 'photos/a.jpg' }, body: 'jpeg' },
    ]);
    const entries: BundleEntry[] = [
      { name: 'notes.txt', type: 'file' },
      { name: 'photos', type: 'folder' },
    ];
    const offer = { kind: 'bundle' as const, entries, size: tar.length, files: 2, bytes: 9 };
    const path = join(dir, 'bundle.zip');
    await writeChunks(path, tarToZip(pieces(tar, 700), offer));
    expect(unzipList(path)).toEqual({ names: ['notes.txt', 'photos/', 'photos/a.jpg'], count: 3 });
    expect(unzipTest(path)).toBe(true);

    const stray = await buildTar([{ header: { name: 'other.txt' }, body: 'x' }]);
    const strayOffer = { ...offer, size: stray.length, files: 1, bytes: 1 };
    await expect(writeChunks(join(dir, 'stray.zip'), tarToZip(pieces(stray, 700), strayOffer))).rejects.toMatchObject({
      code: 'UNSAFE_PATH',
    });
  });
});

describe('zip writer', () => {
  it('switches to ZIP64 end records at 65535 entries, which unzip and zipfile read', async () => {
    const count = 70_000;
    const zip = new ZipWriter();
    const out: Uint8Array[] = [];
    const one = new TextEncoder().encode('1');
    for (let i = 0; i < count; i++) {
      out.push(zip.begin({ path: `many/${i}`, directory: false, size: 1, executable: false, mtime: 1_700_000_000 }));
      out.push(zip.data(one), zip.end());
    }
    out.push(zip.finish());
    const path = join(dir, 'many.zip');
    await writeChunks(path, out);

    const bytes = await readFile(path);
    // ZIP64 end of central directory record, its locator, then the classic record with 0xFFFF counts.
    const eocd = bytes.length - 22;
    expect(bytes.readUInt32LE(eocd)).toBe(0x06054b50);
    expect(bytes.readUInt16LE(eocd + 10)).toBe(0xffff);
    expect(bytes.readUInt32LE(eocd - 20)).toBe(0x07064b50);
    expect(bytes.readUInt32LE(eocd - 20 - 56)).toBe(0x06064b50);
    expect(Number(bytes.readBigUInt64LE(eocd - 20 - 56 + 32))).toBe(count);

    expect(unzipList(path).count).toBe(count);
    expect(unzipTest(path)).toBe(true);
    const report = readZip(path, false);
    expect(report.entries).toHaveLength(count);
    expect(report.entries.at(-1)).toMatchObject({ name: `many/${count - 1}`, size: 1, crc: zlibCrc32('1') });
  });

  it('states the size of stored data in the local header, for readers that walk the local headers', () => {
    const zip = new ZipWriter();
    const header = Buffer.from(zip.begin({ path: 'a.txt', directory: false, size: 3, executable: false, mtime: 0 }));
    expect(header.readUInt32LE(0)).toBe(0x04034b50);
    expect(header.readUInt16LE(6)).toBe(0x0808);
    expect([header.readUInt32LE(14), header.readUInt32LE(18), header.readUInt32LE(22)]).toEqual([0, 3, 3]);
    const big = new ZipWriter();
    const size = 2 ** 32 + 5;
    const local = Buffer.from(big.begin({ path: 'b', directory: false, size, executable: false, mtime: 0 }));
    expect([local.readUInt32LE(18), local.readUInt32LE(22), local.readUInt16LE(28)]).toEqual([
      0xffffffff, 0xffffffff, 20,
    ]);
    expect([local.readUInt16LE(31), Number(local.readBigUInt64LE(35)), Number(local.readBigUInt64LE(43))]).toEqual([
      1,
      size,
      size,
    ]);
  });

  it('keeps classic end records below 65535 entries', async () => {
    const zip = new ZipWriter();
    const out = [zip.begin({ path: 'a/', directory: true, size: 0, executable: false, mtime: 0 }), zip.end()];
    out.push(zip.finish());
    const bytes = Buffer.concat(out);
    expect(bytes.readUInt32LE(bytes.length - 22)).toBe(0x06054b50);
    expect(bytes.readUInt16LE(bytes.length - 22 + 10)).toBe(1);
    expect(bytes.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(false);
  });

  it('refuses a listing larger than its bound before writing the entry', () => {
    const zip = new ZipWriter(1000);
    // 77 bytes of listing per entry: twelve fit in 1000, the thirteenth does not.
    for (let i = 0; i < 12; i++) {
      zip.begin({ path: `f/${i}`, directory: false, size: 0, executable: false, mtime: 0 });
      zip.end();
    }
    expect(() => zip.begin({ path: 'f/x', directory: false, size: 0, executable: false, mtime: 0 })).toThrow(
      /too large to save as a zip/,
    );
  });
});
