import { lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkTarget, openSink } from '../../src/files/sink.js';
import { openSource, type SourceSpec } from '../../src/files/source.js';
import { listTree, readText, tempDir } from './fixtures.js';

let base: string;
let cleanup: () => Promise<void>;
let src: string;
let out: string;

beforeEach(async () => {
  ({ path: base, cleanup } = await tempDir('roundtrip'));
  src = join(base, 'src');
  out = join(base, 'out');
  await mkdir(src);
  await mkdir(out);
});
afterEach(() => cleanup());

/** What the lead's driver does, minus the network: source → offer → target → sink → commit. */
async function transfer(spec: SourceSpec, chunkSize: number, output?: string): Promise<string> {
  const source = await openSource(spec);
  try {
    const target = await checkTarget(source.offer, { output, cwd: out, overwrite: false });
    const sink = await openSink(target, source.offer, { umask: 0o022 });
    for await (const chunk of source.chunks(chunkSize)) await sink.write(chunk);
    return await sink.commit();
  } finally {
    await source.close();
  }
}

describe('round trip through openSource and openSink', () => {
  it.each([1, 7, 512, 65536])('a file, chunk size %i', async (chunkSize) => {
    const data = Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 31) % 256));
    await writeFile(join(src, 'data.bin'), data);
    const path = await transfer({ path: join(src, 'data.bin') }, chunkSize);
    expect(path).toBe(join(out, 'data.bin'));
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    expect((await readFile(path)).equals(data)).toBe(true);
    expect(await readdir(out)).toEqual(['data.bin']);
  });

  it('an empty file', async () => {
    await writeFile(join(src, 'empty'), '');
    const path = await transfer({ path: join(src, 'empty') }, 1024);
    expect((await stat(path)).size).toBe(0);
  });

  it('an executable file keeps its executable bit; the umask applies', async () => {
    await writeFile(join(src, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    const path = await transfer({ path: join(src, 'run.sh') }, 1024);
    expect((await stat(path)).mode & 0o777).toBe(0o755);
  });

  it('a file received under another name (-o path)', async () => {
    await writeFile(join(src, 'a.txt'), 'hello');
    const path = await transfer({ path: join(src, 'a.txt') }, 1024, 'renamed.txt');
    expect(path).toBe(join(out, 'renamed.txt'));
    expect(await readText(path)).toBe('hello');
  });

  it.each([1, 100, 512, 4096, 65536])(
    'a folder with nested and empty subfolders, unicode and space names, modes and an inner link (chunk %i)',
    async (chunkSize) => {
      const root = join(src, 'my photos');
      await mkdir(join(root, 'a', 'b', 'c'), { recursive: true });
      await mkdir(join(root, 'empty one'));
      await mkdir(join(root, 'a', 'also empty'));
      await writeFile(join(root, 'top.txt'), 'top');
      await writeFile(join(root, 'a', 'ünïcødé 日本 🎉.txt'), 'unicode');
      await writeFile(join(root, 'a', 'b', 'tool'), '#!/bin/sh\n', { mode: 0o755 });
      await writeFile(join(root, 'a', 'b', 'c', 'x'.repeat(150)), Buffer.alloc(3000, 9));
      await writeFile(join(root, 'a', 'b', 'c', 'empty'), '');
      await symlink('../top.txt', join(root, 'a', 'link to top'));
      await symlink('b/c', join(root, 'a', 'dir link'));

      const path = await transfer({ path: root }, chunkSize);
      expect(path).toBe(join(out, 'my photos'));
      expect(await listTree(out)).toEqual(await listTree(src));
      expect(await readText(join(path, 'a', 'link to top'))).toBe('top');
      expect(await readlink(join(path, 'a', 'dir link'))).toBe('b/c');
      expect((await stat(join(path, 'a', 'b', 'tool'))).mode & 0o777).toBe(0o755);
      expect((await stat(join(path, 'top.txt'))).mode & 0o777).toBe(0o644);
      expect((await stat(path)).mode & 0o777).toBe(0o755);
      expect((await lstat(join(path, 'a', 'b', 'c', 'x'.repeat(150)))).size).toBe(3000);
    },
  );

  it('an empty folder', async () => {
    await mkdir(join(src, 'nothing'));
    const path = await transfer({ path: join(src, 'nothing') }, 1024);
    expect(await readdir(path)).toEqual([]);
  });

  it('a folder of many files (every entry handed over in order, no hang at entry boundaries)', async () => {
    const root = join(src, 'many');
    await mkdir(root);
    for (let i = 0; i < 300; i++) await writeFile(join(root, `f${String(i).padStart(3, '0')}`), 'x'.repeat(i));
    const path = await transfer({ path: root }, 1000);
    const names = await readdir(path);
    expect(names).toHaveLength(300);
    expect(await readText(join(path, 'f299'))).toBe('x'.repeat(299));
  });

  it('stdin into a file', async () => {
    const path = await transfer(
      { stdin: Readable.from([Buffer.from('piped '), Buffer.from('data')]), name: 'build.log' },
      3,
    );
    expect(await readText(path)).toBe('piped data');
  });
});
