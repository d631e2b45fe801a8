import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Offer } from '@portunus/protocol';
import { checkOutput, checkTarget, openSink } from '../../src/files/sink.js';
import { buildTar, feed, isRoot, listTree, portunusError, readText, tempDir } from './fixtures.js';
import { exitCodeOf, hintOf } from '../../src/ui/error-guide.js';

let base: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ path: base, cleanup } = await tempDir('target'));
});
afterEach(() => cleanup());

const fileOffer = (name: string, size: number): Offer => ({ kind: 'file', name, size });
const opts = (extra: { output?: string; overwrite?: boolean } = {}) => ({ cwd: base, overwrite: false, ...extra });

async function folderTar(files: Record<string, string>): Promise<{ tar: Buffer; offer: Offer }> {
  const items = [
    { header: { name: 'photos/', type: 'directory' as const } },
    ...Object.entries(files).map(([name, body]) => ({
      header: { name: `photos/${name}`, type: 'file' as const },
      body,
    })),
  ];
  const tar = await buildTar(items);
  const bytes = Object.values(files).reduce((n, b) => n + b.length, 0);
  return { tar, offer: { kind: 'folder', name: 'photos', size: tar.length, files: Object.keys(files).length, bytes } };
}

describe('checkTarget resolves where the offer goes', () => {
  it('no output: <cwd>/<name>', async () => {
    expect(await checkTarget(fileOffer('a.txt', 1), opts())).toEqual({
      kind: 'path',
      path: join(base, 'a.txt'),
      replace: false,
    });
  });

  it('output an existing folder: <folder>/<name>', async () => {
    await mkdir(join(base, 'downloads'));
    const target = await checkTarget(fileOffer('a.txt', 1), opts({ output: 'downloads' }));
    expect(target).toEqual({ kind: 'path', path: join(base, 'downloads', 'a.txt'), replace: false });
  });

  it('output a new path: that path', async () => {
    const target = await checkTarget(fileOffer('a.txt', 1), opts({ output: join(base, 'b.txt') }));
    expect(target).toEqual({ kind: 'path', path: join(base, 'b.txt'), replace: false });
  });

  it("output '-': standard output", async () => {
    expect(await checkTarget(fileOffer('a.txt', 1), opts({ output: '-' }))).toEqual({ kind: 'stdout' });
  });

  it('refuses an unsafe offered name (UNSAFE_PATH) and text offers (INTERNAL)', async () => {
    expect((await portunusError(checkTarget(fileOffer('../x', 1), opts()))).code).toBe('UNSAFE_PATH');
    expect((await portunusError(checkTarget({ kind: 'text', text: 'hi' }, opts()))).code).toBe('INTERNAL');
  });

  it.each([
    ['a missing folder given with a trailing slash', 'nowhere/'],
    ['a missing parent', 'nowhere/file.txt'],
    ['a parent that is a file', 'plain/file.txt'],
  ])('FILE_ERROR for %s', async (_label, output) => {
    await writeFile(join(base, 'plain'), 'x');
    expect((await portunusError(checkTarget(fileOffer('a.txt', 1), opts({ output })))).code).toBe('FILE_ERROR');
  });

  it.skipIf(isRoot)('FILE_ERROR for a parent without write permission', async () => {
    await mkdir(join(base, 'ro'), { mode: 0o555 });
    expect((await portunusError(checkTarget(fileOffer('a.txt', 1), opts({ output: 'ro' })))).code).toBe('FILE_ERROR');
  });

  it.runIf(isRoot)(
    'FILE_ERROR for a read-only file system (as root, where permissions do not stop writes)',
    async (ctx) => {
      const mnt = join(base, 'ro');
      await mkdir(mnt);
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', mnt], { stdio: 'pipe' });
      } catch (err) {
        console.log(`skipped: cannot mount a read-only tmpfs (${String(err).split('\n')[0]})`);
        ctx.skip();
      }
      try {
        const err = await portunusError(checkTarget(fileOffer('a.txt', 1), opts({ output: mnt })));
        expect(err.code).toBe('FILE_ERROR');
        expect(err.message).toContain('read-only');
      } finally {
        execFileSync('umount', [mnt]);
      }
    },
  );
});

describe('existing targets', () => {
  it('without --overwrite: FILE_EXISTS, and the file is untouched', async () => {
    await writeFile(join(base, 'a.txt'), 'original');
    const err = await portunusError(checkTarget(fileOffer('a.txt', 3), opts()));
    expect(err.code).toBe('FILE_EXISTS');
    expect(await readText(join(base, 'a.txt'))).toBe('original');
  });

  it('with --overwrite, a file is replaced only on commit', async () => {
    await writeFile(join(base, 'a.txt'), 'original');
    const offer = fileOffer('a.txt', 3);
    const target = await checkTarget(offer, opts({ overwrite: true }));
    expect(target).toMatchObject({ replace: true });
    const sink = await openSink(target, offer);
    await sink.write(Buffer.from('new'));
    expect(await readText(join(base, 'a.txt'))).toBe('original');
    await sink.commit();
    expect(await readText(join(base, 'a.txt'))).toBe('new');
    expect(await readdir(base)).toEqual(['a.txt']);
  });

  it('with --overwrite, an aborted transfer leaves the old file', async () => {
    await writeFile(join(base, 'a.txt'), 'original');
    const offer = fileOffer('a.txt', 3);
    const sink = await openSink(await checkTarget(offer, opts({ overwrite: true })), offer);
    await sink.write(Buffer.from('ne'));
    await sink.abort();
    expect(await readdir(base)).toEqual(['a.txt']);
    expect(await readText(join(base, 'a.txt'))).toBe('original');
  });

  it('with --overwrite, a folder is replaced only on commit, with no leftovers', async () => {
    await mkdir(join(base, 'photos'));
    await writeFile(join(base, 'photos', 'old.jpg'), 'old');
    const { tar, offer } = await folderTar({ 'new.jpg': 'new' });
    const sink = await openSink(await checkTarget(offer, opts({ overwrite: true })), offer);
    await feed(sink, tar, 1000);
    expect(await listTree(join(base, 'photos'))).toEqual(['old.jpg']);
    await sink.commit();
    expect(await listTree(base)).toEqual(['photos/', 'photos/new.jpg']);
  });

  it('--overwrite does not replace a folder with a file, nor a file with a folder', async () => {
    await mkdir(join(base, 'a.txt'));
    await writeFile(join(base, 'photos'), 'a file');
    expect((await portunusError(checkTarget(fileOffer('a.txt', 1), opts({ overwrite: true })))).code).toBe(
      'FILE_EXISTS',
    );
    const { offer } = await folderTar({});
    expect((await portunusError(checkTarget(offer, opts({ overwrite: true })))).code).toBe('FILE_EXISTS');
  });

  it('a file that appears after checkTarget is not clobbered (FILE_EXISTS at commit)', async () => {
    const offer = fileOffer('a.txt', 3);
    const sink = await openSink(await checkTarget(offer, opts()), offer);
    await sink.write(Buffer.from('new'));
    await writeFile(join(base, 'a.txt'), 'someone else');
    expect((await portunusError(sink.commit())).code).toBe('FILE_EXISTS');
    expect(await readText(join(base, 'a.txt'))).toBe('someone else');
    expect(await readdir(base)).toEqual(['a.txt']);
  });

  it('a folder that appears after checkTarget is not clobbered (FILE_EXISTS at commit)', async () => {
    const { tar, offer } = await folderTar({ 'a.jpg': 'a' });
    const sink = await openSink(await checkTarget(offer, opts()), offer);
    await feed(sink, tar);
    await mkdir(join(base, 'photos'));
    await writeFile(join(base, 'photos', 'theirs'), 'x');
    expect((await portunusError(sink.commit())).code).toBe('FILE_EXISTS');
    expect(await listTree(base)).toEqual(['photos/', 'photos/theirs']);
  });
});

describe('partial data', () => {
  it('a file is written to a hidden 0600 temporary beside the target, named with its owner pid; abort removes it', async () => {
    const offer = fileOffer('a.txt', 10);
    const sink = await openSink(await checkTarget(offer, opts()), offer);
    await sink.write(Buffer.from('hello'));
    const [temp, ...rest] = await readdir(base);
    expect(rest).toEqual([]);
    expect(temp).toMatch(new RegExp(`^\\.a\\.txt\\.portunus-[0-9a-f]{8}-${process.pid}-[0-9a-f]{12}\\.part$`));
    expect((await stat(join(base, temp!))).mode & 0o777).toBe(0o600);
    await sink.abort();
    expect(await readdir(base)).toEqual([]);
  });

  it('a folder is extracted into a hidden 0700 temporary folder; abort removes it', async () => {
    const { tar, offer } = await folderTar({ 'a.jpg': 'x'.repeat(5000) });
    const sink = await openSink(await checkTarget(offer, opts()), offer);
    await feed(sink, tar.subarray(0, 3000));
    const [temp, ...rest] = await readdir(base);
    expect(rest).toEqual([]);
    expect(temp).toMatch(new RegExp(`^\\.photos\\.portunus-[0-9a-f]{8}-${process.pid}-[0-9a-f]{12}\\.part$`));
    expect((await stat(join(base, temp!))).mode & 0o777).toBe(0o700);
    await sink.abort();
    expect(await readdir(base)).toEqual([]);
  });

  it('a file shorter than offered is not committed (CORRUPT) and removed', async () => {
    const offer = fileOffer('a.txt', 10);
    const sink = await openSink(await checkTarget(offer, opts()), offer);
    await sink.write(Buffer.from('short'));
    expect((await portunusError(sink.commit())).code).toBe('CORRUPT');
    expect(await readdir(base)).toEqual([]);
  });

  it('a file longer than offered is refused at the first extra byte (CORRUPT) and removed', async () => {
    const offer = fileOffer('a.txt', 4);
    const sink = await openSink(await checkTarget(offer, opts()), offer);
    await sink.write(Buffer.from('four'));
    expect((await portunusError(sink.write(Buffer.from('!')))).code).toBe('CORRUPT');
    expect(await readdir(base)).toEqual([]);
  });

  it('received modes follow the umask', async () => {
    await chmod(base, 0o755);
    const offer: Offer = { kind: 'file', name: 'tool', size: 2, mode: 0o755 };
    const sink = await openSink(await checkTarget(offer, opts()), offer, { umask: 0o077 });
    await sink.write(Buffer.from('hi'));
    expect((await stat(await sink.commit())).mode & 0o777).toBe(0o700);
  });
});

describe('checkOutput: what the options alone decide, checked before connecting', () => {
  it('returns the folder data lands in: cwd, the -o folder, or the parent of the -o path; none for -o -', async () => {
    await mkdir(join(base, 'downloads'));
    expect(await checkOutput(opts())).toBe(base);
    expect(await checkOutput(opts({ output: 'downloads' }))).toBe(join(base, 'downloads'));
    expect(await checkOutput(opts({ output: 'downloads/' }))).toBe(join(base, 'downloads'));
    expect(await checkOutput(opts({ output: 'downloads/new.txt' }))).toBe(join(base, 'downloads'));
    expect(await checkOutput(opts({ output: '-' }))).toBeUndefined();
  });

  it.each([
    ['a missing folder given with a trailing slash', 'newdir/', 'Create it first'],
    ['a missing parent', 'newdir/file.txt', 'Create it first'],
    ['a parent that is a file', 'plain/file.txt', 'Check the path'],
  ])('FILE_ERROR (exit 8) with a hint for %s', async (_label, output, hint) => {
    await writeFile(join(base, 'plain'), 'x');
    const err = await portunusError(checkOutput(opts({ output })));
    expect(err.code).toBe('FILE_ERROR');
    expect(exitCodeOf(err)).toBe(8);
    expect(hintOf(err)).toContain(hint);
  });

  it('an -o naming an existing file: FILE_EXISTS without --overwrite, its folder with it', async () => {
    await writeFile(join(base, 'report.txt'), 'precious');
    const err = await portunusError(checkOutput(opts({ output: 'report.txt' })));
    expect(err.code).toBe('FILE_EXISTS');
    expect(hintOf(err)).toMatch(/--overwrite.*-o/);
    expect(await checkOutput(opts({ output: 'report.txt', overwrite: true }))).toBe(base);
  });

  it.runIf(isRoot)('FILE_ERROR for a folder on a read-only file system', async (ctx) => {
    const mnt = join(base, 'ro');
    await mkdir(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (err) {
      console.log(`skipped: cannot mount a read-only tmpfs (${String(err).split('\n')[0]})`);
      ctx.skip();
    }
    try {
      for (const output of [mnt, join(mnt, 'x.txt')]) {
        const err = await portunusError(checkOutput(opts({ output })));
        expect(err.code).toBe('FILE_ERROR');
        expect(err.message).toContain('read-only');
      }
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it.skipIf(isRoot)('FILE_ERROR for a folder without write permission', async () => {
    await mkdir(join(base, 'ro'), { mode: 0o555 });
    expect((await portunusError(checkOutput(opts({ output: 'ro' })))).code).toBe('FILE_ERROR');
  });
});
