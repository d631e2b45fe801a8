/**
 * A hostile sender controls every byte of the tar. Whatever it sends, nothing may be written outside the output
 * folder, the sink must fail with the right code, and neither the temporary folder nor the target may remain.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Offer, PortunusError } from '@portunus/protocol';
import { ENTRY_HINTS } from '../../src/files/entry-check.js';
import { checkTarget, openSink, type SinkOptions } from '../../src/files/sink.js';
import { buildTar, feed, listTree, portunusError, readText, tempDir, type TarItem } from './fixtures.js';
import { exitCodeOf } from '../../src/ui/error-guide.js';

let base: string;
let out: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ path: base, cleanup } = await tempDir('hostile'));
  out = join(base, 'out');
  await mkdir(out);
  await writeFile(join(base, 'victim.txt'), 'untouched');
});
afterEach(() => cleanup());

const dir = (name: string): TarItem => ({ header: { name, type: 'directory' } });
const file = (name: string, body = 'evil'): TarItem => ({ header: { name, type: 'file' }, body });
const link = (name: string, linkname: string): TarItem => ({ header: { name, type: 'symlink', linkname } });

function folderOffer(tar: Buffer, items: TarItem[]): Offer {
  const files = items.filter((i) => i.header.type === 'file');
  const bytes = files.reduce((n, i) => n + Buffer.byteLength(i.body ?? ''), 0);
  return { kind: 'folder', name: 'photos', size: tar.length, files: files.length, bytes };
}

/** Receives `items` as folder 'photos' into `out`; returns the failure (write or commit), after the lead's abort(). */
async function receive(
  items: TarItem[],
  opts: SinkOptions = {},
  offer?: (tar: Buffer) => Offer,
): Promise<PortunusError> {
  const tar = await buildTar(items);
  const o = offer ? offer(tar) : folderOffer(tar, items);
  const target = await checkTarget(o, { cwd: out, overwrite: false });
  const sink = await openSink(target, o, opts);
  const err = await portunusError(
    (async () => {
      await feed(sink, tar, 700);
      await sink.commit();
    })(),
  );
  await sink.abort();
  return err;
}

async function expectNothingKept(): Promise<void> {
  expect(await listTree(base)).toEqual(['out/', 'victim.txt']);
  expect(await readText(join(base, 'victim.txt'))).toBe('untouched');
}

describe('hostile folder entries are refused with UNSAFE_PATH and leave nothing behind', () => {
  const cases: [string, string, keyof typeof ENTRY_HINTS, () => TarItem[]][] = [
    ['../evil', "'..' component", 'outside', () => [dir('photos/'), file('../evil')]],
    ['photos/../evil', "'..' component", 'outside', () => [dir('photos/'), file('photos/../evil')]],
    ['a/../../x', "'..' component", 'outside', () => [dir('photos/'), file('photos/a/../../x')]],
    ['an absolute path', 'absolute path', 'outside', () => [dir('photos/'), file(join(base, 'abs-evil'))]],
    ['/abs/path', 'absolute path', 'outside', () => [dir('photos/'), file('/abs/path')]],
    ['C:\\x', 'backslash', 'name', () => [dir('photos/'), file('C:\\x')]],
    ['backslash traversal', 'backslash', 'name', () => [dir('photos/'), file('photos\\..\\..\\evil')]],
    [
      'not under the offered folder',
      'not inside the offered folder',
      'outside',
      () => [dir('photos/'), file('other/evil')],
    ],
    ['an empty component', 'empty component', 'name', () => [dir('photos/'), file('photos//evil')]],
    ['a . component', "'.' component", 'name', () => [dir('photos/'), file('photos/./evil')]],
    ['NUL in a pax path', 'NUL byte', 'name', () => [dir('photos/'), file('photos/é\0evil')]],
    [
      'ANSI escapes in a name',
      'control or bidi',
      'name',
      () => [dir('photos/'), file('photos/\x1b]0;pwned\x07\x1b[2Jclear')],
    ],
    ['a bidi override in a name', 'control or bidi', 'name', () => [dir('photos/'), file('photos/evil\u202etxt.exe')]],
    [
      'a component over 255 bytes',
      'longer than 255 bytes',
      'name',
      () => [dir('photos/'), file(`photos/${'x'.repeat(256)}`)],
    ],
    [
      'a path over 4096 bytes',
      'longer than 4096 bytes',
      'name',
      () => [dir('photos/'), file(`photos/${`${'d'.repeat(200)}/`.repeat(21)}f`)],
    ],
    [
      'symlink to /etc, then a file through it',
      'absolute path',
      'link',
      () => [dir('photos/'), link('photos/etc', '/etc'), file('photos/etc/evil')],
    ],
    [
      'symlink a -> .. at the top',
      'points outside the folder',
      'link',
      () => [dir('photos/'), link('photos/a', '..'), file('photos/a/evil')],
    ],
    [
      'symlink escaping by ../..',
      'points outside the folder',
      'link',
      () => [dir('photos/'), dir('photos/sub/'), link('photos/sub/up', '../..')],
    ],
    [
      'a file written through an allowed link (sub/up -> ..)',
      'through a symbolic link',
      'throughLink',
      () => [dir('photos/'), dir('photos/sub/'), link('photos/sub/up', '..'), file('photos/sub/up/evil')],
    ],
    [
      'a link chain: link created below another link',
      'through a symbolic link',
      'throughLink',
      () => [dir('photos/'), dir('photos/sub/'), link('photos/sub/up', '..'), link('photos/sub/up/up2', '..')],
    ],
    [
      'a link that looks inside but climbs out through another (x -> deep/l/..)',
      'not a normalized relative path',
      'link',
      () => [dir('photos/'), dir('photos/deep/'), link('photos/deep/l', '..'), link('photos/x', 'deep/l/..')],
    ],
    [
      'a link target with a backslash',
      'backslash',
      'link',
      () => [dir('photos/'), link('photos/l', '..\\..\\victim.txt')],
    ],
    ['a link to a drive path', 'drive letter', 'link', () => [dir('photos/'), link('photos/l', 'C:/Windows')]],
    [
      'a hard link to outside',
      'hard links',
      'type',
      () => [dir('photos/'), { header: { name: 'photos/hl', type: 'link', linkname: '../victim.txt' } }],
    ],
    [
      'a hard link inside',
      'hard links',
      'type',
      () => [dir('photos/'), file('photos/a'), { header: { name: 'photos/hl', type: 'link', linkname: 'photos/a' } }],
    ],
    [
      'a character device',
      'character-device',
      'type',
      () => [dir('photos/'), { header: { name: 'photos/null', type: 'character-device', devmajor: 1, devminor: 3 } }],
    ],
    [
      'a block device',
      'block-device',
      'type',
      () => [dir('photos/'), { header: { name: 'photos/sda', type: 'block-device', devmajor: 8, devminor: 0 } }],
    ],
    ['a fifo', '"fifo"', 'type', () => [dir('photos/'), { header: { name: 'photos/fifo', type: 'fifo' } }]],
    [
      'a duplicate file',
      'repeats an earlier entry',
      'repeat',
      () => [dir('photos/'), file('photos/a'), file('photos/a', 'replaced')],
    ],
    [
      'a file below a file',
      'parent of it is a file',
      'layout',
      () => [dir('photos/'), file('photos/a'), file('photos/a/b')],
    ],
    [
      'a link replacing a file',
      'repeats an earlier entry',
      'repeat',
      () => [dir('photos/'), file('photos/a'), link('photos/a', '.')],
    ],
    ['the top level as a file', 'top-level entry must be a folder', 'layout', () => [file('photos')]],
    [
      'a Windows device name',
      'AUX is a device name on Windows',
      'portable',
      () => [dir('photos/'), file('photos/sub/aux.c')],
    ],
    [
      'a colon in a folder name',
      "contains ':'",
      'portable',
      () => [dir('photos/'), dir('photos/a:b/'), file('photos/a:b/x')],
    ],
    ['a trailing dot', 'ends with a dot', 'portable', () => [dir('photos/'), file('photos/x.')]],
    [
      'a link to a device name',
      'its link target names "CON"',
      'portable',
      () => [dir('photos/'), link('photos/l', 'CON')],
    ],
  ];

  it.each(cases)('%s', async (_label, reason, hint, items) => {
    const err = await receive(items());
    expect(err.code).toBe('UNSAFE_PATH');
    expect(err.message).toContain(reason);
    expect(err.hint).toBe(ENTRY_HINTS[hint]);
    expect(exitCodeOf(err)).toBe(8);
    expect(err.message).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/);
    await expectNothingKept();
    await expect(access('/abs/path')).rejects.toThrow();
    await expect(access('/etc/evil')).rejects.toThrow();
  });

  it('too many entries', async () => {
    const items = [dir('photos/'), ...Array.from({ length: 10 }, (_, i) => file(`photos/f${i}`))];
    const err = await receive(items, { maxEntries: 10 });
    expect(err.code).toBe('UNSAFE_PATH');
    expect(err.message).toContain('more than 10 entries');
    await expectNothingKept();
  });

  it('accepts the same folder when within the entry cap (the cap is what refused it)', async () => {
    const items = [dir('photos/'), ...Array.from({ length: 10 }, (_, i) => file(`photos/f${i}`))];
    const tar = await buildTar(items);
    const offer = folderOffer(tar, items);
    const sink = await openSink(await checkTarget(offer, { cwd: out, overwrite: false }), offer, { maxEntries: 11 });
    await feed(sink, tar);
    expect(await sink.commit()).toBe(join(out, 'photos'));
  });
});

describe('a folder stream that does not match its offer', () => {
  const items = [dir('photos/'), file('photos/a', 'x'.repeat(2000))];

  it('more file bytes than offered → PROTOCOL', async () => {
    const err = await receive(items, {}, (tar) => ({
      kind: 'folder',
      name: 'photos',
      size: tar.length,
      files: 1,
      bytes: 1000,
    }));
    expect(err.code).toBe('PROTOCOL');
    await expectNothingKept();
  });

  it('fewer files than offered → PROTOCOL at commit', async () => {
    const err = await receive(items, {}, (tar) => ({
      kind: 'folder',
      name: 'photos',
      size: tar.length,
      files: 2,
      bytes: 2000,
    }));
    expect(err.code).toBe('PROTOCOL');
    await expectNothingKept();
  });

  it('truncated (commit before all offered bytes) → CORRUPT', async () => {
    const tar = await buildTar(items);
    const offer: Offer = { kind: 'folder', name: 'photos', size: tar.length, files: 1, bytes: 2000 };
    const sink = await openSink(await checkTarget(offer, { cwd: out, overwrite: false }), offer);
    await feed(sink, tar.subarray(0, 1024));
    expect((await portunusError(sink.commit())).code).toBe('CORRUPT');
    await expectNothingKept();
  });

  it('more bytes than offered → CORRUPT', async () => {
    const err = await receive(items, {}, (tar) => ({
      kind: 'folder',
      name: 'photos',
      size: tar.length - 512,
      files: 1,
      bytes: 2000,
    }));
    expect(err.code).toBe('CORRUPT');
    await expectNothingKept();
  });

  it('not a tar at all → PROTOCOL', async () => {
    const junk = Buffer.alloc(4096, 0x41);
    const offer: Offer = { kind: 'folder', name: 'photos', size: junk.length, files: 0, bytes: 0 };
    const sink = await openSink(await checkTarget(offer, { cwd: out, overwrite: false }), offer);
    const err = await portunusError(
      (async () => {
        await feed(sink, junk);
        await sink.commit();
      })(),
    );
    expect(err.code).toBe('PROTOCOL');
    await expectNothingKept();
  });
});
