import { describe, expect, it } from 'vitest';
import { PortunusError } from '@portunus/protocol';
import { TarReader, MAX_PAX_BYTES, type TarEvent } from '../../src/archive/tar-reader.js';
import { TarToZip } from '../../src/archive/tar-to-zip.js';
import { LINK_IN_PAGE_HINT, type FolderOffer } from '../../src/archive/folder-entries.js';
import { buildTar, type TarItem } from './tar-fixtures.js';

function describeEvents(events: TarEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    if (e.type === 'entry') out.push(`${e.header.typeflag} ${e.header.name} ${e.header.size}`);
    else if (e.type === 'data') {
      if (out.at(-1)?.startsWith('data ')) out[out.length - 1] += Buffer.from(e.bytes).toString('latin1');
      else out.push(`data ${Buffer.from(e.bytes).toString('latin1')}`);
    } else out.push(e.type);
  }
  return out;
}

function readAll(tar: Uint8Array, piece: number): string[] {
  const reader = new TarReader();
  const events: TarEvent[] = [];
  for (let at = 0; at < tar.length; at += piece) {
    // Data views are valid until the next push: describe each batch before pushing again.
    events.push(
      ...reader
        .push(tar.subarray(at, at + piece))
        .map((e) => (e.type === 'data' ? { ...e, bytes: e.bytes.slice() } : e)),
    );
  }
  reader.finish();
  return describeEvents(events);
}

/** Rewrites the first header's typeflag (tar-stream cannot write 'g', 'L' or 'K') and its checksum. */
function retype(tar: Uint8Array, flag: string): void {
  tar[156] = flag.charCodeAt(0);
  tar.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[i]!;
  tar.set(Buffer.from(sum.toString(8).padStart(6, '0') + '\0 '), 148);
}

function error(run: () => void): PortunusError {
  try {
    run();
  } catch (err) {
    if (err instanceof PortunusError) return err;
    throw err;
  }
  throw new Error('expected a PortunusError');
}

/** Converts a whole tar for a folder offer named `f`, returning the refusal. */
function refusal(tar: Uint8Array, offer: Partial<FolderOffer> = {}, maxEntries?: number): PortunusError {
  const full: FolderOffer = { kind: 'folder', name: 'f', size: tar.length, files: 10, bytes: 1000, ...offer };
  const converter = new TarToZip(full, maxEntries);
  return error(() => {
    converter.push(tar);
    converter.finish();
  });
}

const long = `f/${'d'.repeat(120)}/${'é'.repeat(60)}.txt`;
const items: TarItem[] = [
  { header: { name: 'f/', type: 'directory' } },
  { header: { name: 'f/a.txt', mode: 0o755 }, body: 'hello' },
  { header: { name: 'f/empty' }, body: '' },
  { header: { name: long }, body: 'x'.repeat(700) },
];

describe('tar reader', () => {
  it('reads what tar-stream packs (pax long and unicode names, empty files) the same in any chunking', async () => {
    const tar = await buildTar(items);
    const expected = [
      '5 f/ 0',
      'entry-end',
      '0 f/a.txt 5',
      'data hello',
      'entry-end',
      '0 f/empty 0',
      'entry-end',
      `0 ${long} 700`,
      `data ${'x'.repeat(700)}`,
      'entry-end',
      'end',
    ];
    for (const piece of [1, 7, 512, 513, tar.length]) expect(readAll(tar, piece)).toEqual(expected);
  });

  it('refuses a header whose checksum does not match', async () => {
    const tar = await buildTar(items);
    tar[512 + 10]! ^= 1;
    expect(error(() => new TarReader().push(tar)).message).toMatch(/checksum/);
  });

  it('refuses a pax header larger than MAX_PAX_BYTES before reading it', async () => {
    const tar = await buildTar([{ header: { name: 'f/x', pax: { comment: 'c'.repeat(MAX_PAX_BYTES) } }, body: '' }]);
    const err = error(() => new TarReader().push(tar.subarray(0, 512)));
    expect(err.code).toBe('PROTOCOL');
    expect(err.message).toMatch(/pax header is larger/);
  });

  it('refuses a global pax header and a GNU long name', async () => {
    for (const flag of 'gLK') {
      const tar = await buildTar([{ header: { name: 'f/x' }, body: 'path=f/y\n' }]);
      retype(tar, flag);
      expect(error(() => new TarReader().push(tar)).message).toMatch(/global pax or GNU/);
    }
  });

  it('refuses an archive that stops early, or with data after its end', async () => {
    const tar = await buildTar(items);
    const short = new TarReader();
    short.push(tar.subarray(0, tar.length - 512));
    expect(error(() => short.finish()).message).toMatch(/ended before/);
    const trailing = new Uint8Array(tar.length + 512);
    trailing.set(tar);
    trailing[tar.length + 3] = 1;
    expect(error(() => new TarReader().push(trailing)).message).toMatch(/data follows the end/);
  });

  it('refuses a pax record whose length is wrong', async () => {
    const tar = await buildTar([{ header: { name: `f/${'n'.repeat(150)}` }, body: '' }]);
    // The record starts "NNN path=": make its length one too long.
    const at = 512 + tar.subarray(512).indexOf(0x20) - 1;
    tar[at]! += 1;
    // The checksum covers the header, not the pax data: only the record check catches this.
    expect(error(() => new TarReader().push(tar)).message).toMatch(/pax record has the wrong length/);
  });
});

describe('folder entries (what the page refuses before writing a zip byte)', () => {
  it.each([
    ['a path with ..', [{ header: { name: 'f/../x' }, body: 'x' }], 'UNSAFE_PATH', /'\.\.' component/],
    ['an absolute path', [{ header: { name: '/etc/x' }, body: 'x' }], 'UNSAFE_PATH', /absolute/],
    ['a path outside the offered folder', [{ header: { name: 'g/x' }, body: 'x' }], 'UNSAFE_PATH', /not inside/],
    ['a hard link', [{ header: { name: 'f/h', type: 'link', linkname: 'f/a' } }], 'UNSAFE_PATH', /hard links/],
    ['a device', [{ header: { name: 'f/dev', type: 'character-device' } }], 'UNSAFE_PATH', /character-device/],
    ['a fifo', [{ header: { name: 'f/p', type: 'fifo' } }], 'UNSAFE_PATH', /fifo/],
    ['a name Windows cannot create', [{ header: { name: 'f/CON.txt' }, body: 'x' }], 'UNSAFE_PATH', /device name/],
    ['a bidi override', [{ header: { name: 'f/a\u202etxt.exe' }, body: 'x' }], 'UNSAFE_PATH', /bidi/],
    [
      'names differing only in case',
      [
        { header: { name: 'f/Read.me' }, body: 'a' },
        { header: { name: 'f/read.me' }, body: 'b' },
      ],
      'UNSAFE_PATH',
      /clashes/,
    ],
    [
      'an entry below a file',
      [
        { header: { name: 'f/a' }, body: 'a' },
        { header: { name: 'f/a/b' }, body: 'b' },
      ],
      'UNSAFE_PATH',
      /parent of it is a file/,
    ],
    ['a folder with data', [{ header: { name: 'f/d/', type: 'directory', size: 1 } }], 'PROTOCOL', /carries data/],
  ] as [string, TarItem[], string, RegExp][])('refuses %s', async (_, entries, code, message) => {
    const err = refusal(await buildTar(entries));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });

  it('refuses a symbolic link, even one inside the folder, since a zip cannot carry it to Windows', async () => {
    const tar = await buildTar([
      { header: { name: 'f/', type: 'directory' } },
      { header: { name: 'f/l', type: 'symlink', linkname: 'a' } },
    ]);
    const err = refusal(tar);
    expect(err.code).toBe('UNSAFE_PATH');
    expect(err.hint).toBe(LINK_IN_PAGE_HINT);
  });

  it('refuses more files or bytes than offered, and fewer at the end', async () => {
    const tar = await buildTar([
      { header: { name: 'f/a' }, body: 'aaaa' },
      { header: { name: 'f/b' }, body: 'bbbb' },
    ]);
    expect(refusal(tar, { files: 1 }).message).toMatch(/more files or bytes than offered/);
    expect(refusal(tar, { bytes: 7 }).message).toMatch(/more files or bytes than offered/);
    expect(refusal(tar, { files: 3 }).message).toMatch(/number of files and bytes offered/);
  });

  it('refuses more entries than the cap', async () => {
    const tar = await buildTar([1, 2, 3].map((n) => ({ header: { name: `f/${n}` }, body: '' })));
    expect(refusal(tar, {}, 2).message).toMatch(/more than 2 entries/);
  });
});
