/**
 * The page's archive code against the CLI's own folder sender and receiver (packages/web/src/archive): a folder
 * from the CLI becomes a zip in the page, and several files from the page become a folder the CLI receives.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PortunusError } from '@portunus/protocol';
import { rechunk } from '@portunus/client';
import { LINK_IN_PAGE_HINT } from '../../../packages/web/src/archive/folder-entries.js';
import { tarToZip } from '../../../packages/web/src/archive/tar-to-zip.js';
import { planTar, tarSize, writeTar, type TarInput } from '../../../packages/web/src/archive/tar-writer.js';
import { readZip, unzipList, unzipTest, writeChunks } from '../../../packages/web/test/archive/zip-check.js';
import { checkTarget, openSink } from '../../src/files/sink.js';
import { openSource } from '../../src/files/source.js';
import { collect, concat, feed, listTree, portunusError, tempDir } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('page-archive'));
});
afterEach(() => cleanup());

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
const longName = 'x'.repeat(200);
const unicodeName = 'ünï 日本 😀.txt';

async function folderSource(root: string) {
  const source = await openSource({ path: root });
  if (source.offer.kind !== 'folder') throw new Error('not a folder offer');
  return { source, offer: source.offer };
}

describe("a folder from the CLI's folder source, saved by the page as a zip", () => {
  it('lists and reads back exactly: long and unicode names, empty files and folders, nested folders', async () => {
    const root = join(dir, 'photos');
    await mkdir(join(root, 'b', 'deep', 'deeper'), { recursive: true });
    await mkdir(join(root, 'a empty'));
    await writeFile(join(root, 'z.txt'), 'zzz');
    await writeFile(join(root, 'empty.bin'), '');
    await writeFile(join(root, 'b', 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(join(root, 'b', 'deep', unicodeName), 'unicode');
    const big = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);
    await writeFile(join(root, 'b', 'deep', 'deeper', longName), big);

    const { source, offer } = await folderSource(root);
    const zipPath = join(dir, 'photos.zip');
    await writeChunks(zipPath, tarToZip(source.chunks(16 * 1024), offer));

    const names = [
      'photos/',
      'photos/empty.bin',
      'photos/z.txt',
      'photos/a empty/',
      'photos/b/',
      'photos/b/run.sh',
      'photos/b/deep/',
      `photos/b/deep/${unicodeName}`,
      'photos/b/deep/deeper/',
      `photos/b/deep/deeper/${longName}`,
    ];
    expect(unzipList(zipPath)).toEqual({ names, count: names.length });
    expect(unzipTest(zipPath)).toBe(true);
    const report = readZip(zipPath);
    expect(report.bad).toBeNull();
    expect(report.entries.filter((e) => e.sha256 !== null).map((e) => [e.name, e.sha256])).toEqual([
      ['photos/empty.bin', sha256('')],
      ['photos/z.txt', sha256('zzz')],
      ['photos/b/run.sh', sha256('#!/bin/sh\n')],
      [`photos/b/deep/${unicodeName}`, sha256('unicode')],
      [`photos/b/deep/deeper/${longName}`, sha256(big)],
    ]);
    expect(report.entries.find((e) => e.name === 'photos/b/run.sh')?.mode.toString(8)).toBe('100755');
  });

  it('refuses a folder holding a symbolic link, which a zip cannot carry to Windows', async () => {
    const root = join(dir, 'f');
    await mkdir(root);
    await writeFile(join(root, 'a'), 'a');
    await symlink('a', join(root, 'to-a'));
    const { source, offer } = await folderSource(root);
    const err = await portunusError(collect(tarToZip(source.chunks(4096), offer)));
    expect(err.code).toBe('UNSAFE_PATH');
    expect(err.hint).toBe(LINK_IN_PAGE_HINT);
  });
});

function blobInput(path: string, data: string | Uint8Array, mtime = 1_700_000_000): TarInput {
  const blob = new Blob([data]);
  return { path, size: blob.size, mtime, stream: () => blob.stream() };
}

describe("several files from the page's tar writer, received by the CLI's folder sink", () => {
  it('lands as the offered folder, with exactly the offered size, and tar -t lists it', async () => {
    const big = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
    const inputs = [
      blobInput('b.txt', 'bbb'),
      blobInput('a.txt', 'aaaa'),
      blobInput('empty', ''),
      blobInput(unicodeName, 'unicode'),
      blobInput(`sub/${'d'.repeat(120)}/${longName}`, big),
      blobInput('sub/c.txt', 'c'),
    ];
    const plan = planTar('from page', inputs);
    const tar = concat(await collect(rechunk(writeTar(plan), 4096)));
    expect(plan.offer).toEqual({
      kind: 'folder',
      name: 'from page',
      size: tar.length,
      files: 6,
      bytes: 3 + 4 + 0 + 7 + 200_000 + 1,
    });
    expect(tarSize('from page', inputs)).toBe(tar.length);

    const out = join(dir, 'out');
    await mkdir(out);
    const target = await checkTarget(plan.offer, { cwd: out, overwrite: false });
    const sink = await openSink(target, plan.offer, { umask: 0o022 });
    await feed(sink, tar, 1000);
    await sink.commit();
    const landed = join(out, 'from page');
    expect(await listTree(landed)).toEqual([
      'a.txt',
      'b.txt',
      'empty',
      'sub/',
      'sub/c.txt',
      `sub/${'d'.repeat(120)}/`,
      `sub/${'d'.repeat(120)}/${longName}`,
      unicodeName,
    ]);
    expect(sha256(await readFile(join(landed, 'sub', 'd'.repeat(120), longName)))).toBe(sha256(big));
    expect(await readFile(join(landed, unicodeName), 'utf8')).toBe('unicode');

    const tarPath = join(dir, 'page.tar');
    await writeFile(tarPath, tar);
    const listed = execFileSync('tar', ['-tf', tarPath]).toString('utf8').trimEnd().split('\n');
    // Folder first, its files by UTF-8 bytes, then its subfolders, depth first (PROTOCOL.md §4.5).
    expect(listed).toEqual([
      'from page/',
      'from page/a.txt',
      'from page/b.txt',
      'from page/empty',
      `from page/${unicodeName}`,
      'from page/sub/',
      'from page/sub/c.txt',
      `from page/sub/${'d'.repeat(120)}/`,
      `from page/sub/${'d'.repeat(120)}/${longName}`,
    ]);
  });

  it('stops with FILE_CHANGED when a file holds more or fewer bytes than planned', async () => {
    for (const actual of ['abc', 'abcdef']) {
      const blob = new Blob([actual]);
      const plan = planTar('f', [{ path: 'x', size: 4, mtime: 0, stream: () => blob.stream() }]);
      const err = await portunusError(collect(writeTar(plan)));
      expect(err.code).toBe('FILE_CHANGED');
    }
  });

  it('refuses, before sending, names that receivers refuse and names that clash', () => {
    const refused = (root: string, paths: string[]): PortunusError => {
      try {
        planTar(
          root,
          paths.map((p) => blobInput(p, '')),
        );
      } catch (err) {
        if (err instanceof PortunusError) return err;
        throw err;
      }
      throw new Error('expected a refusal');
    };
    expect(refused('f', ['CON.txt']).message).toMatch(/device name/);
    expect(refused('f', ['a/../b']).message).toMatch(/not a file name/);
    expect(refused('f', ['Read.me', 'read.me']).message).toMatch(/same name/);
    expect(refused('f', ['a', 'a/b']).message).toMatch(/same name/);
    expect(refused('a:b', ['x']).code).toBe('FILE_ERROR');
  });
});
