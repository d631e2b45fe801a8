import { execFileSync, spawnSync } from 'node:child_process';
import { appendFile, chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSource, type Source } from '../../src/files/source.js';
import { collect, concat, isRoot, portunusError, tempDir } from './fixtures.js';
import { exitCodeOf } from '../../src/ui/error-guide.js';

let dir: string;
let cleanup: () => Promise<void>;
const opened: Source[] = [];

beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('source'));
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await cleanup();
});

async function open(spec: Parameters<typeof openSource>[0]): Promise<Source> {
  const source = await openSource(spec);
  opened.push(source);
  return source;
}

describe('file source', () => {
  it('offers name, size and mode and streams chunks of exactly chunkSize', async () => {
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
    await writeFile(join(dir, 'data.bin'), data);
    const source = await open({ path: join(dir, 'data.bin') });
    expect(source.offer).toEqual({ kind: 'file', name: 'data.bin', size: 10_000, mode: 0o644 });
    const chunks = await collect(source.chunks(4096));
    expect(chunks.map((c) => c.length)).toEqual([4096, 4096, 1808]);
    expect(concat(chunks).equals(data)).toBe(true);
  });

  it('keeps the executable bit (and only that) in the offered mode', async () => {
    await writeFile(join(dir, 'run.sh'), '#!/bin/sh\n');
    await chmod(join(dir, 'run.sh'), 0o4750);
    expect((await open({ path: join(dir, 'run.sh') })).offer).toMatchObject({ mode: 0o755 });
  });

  it('streams nothing for an empty file', async () => {
    await writeFile(join(dir, 'empty'), '');
    const source = await open({ path: join(dir, 'empty') });
    expect(source.offer).toMatchObject({ size: 0 });
    expect(await collect(source.chunks(1024))).toEqual([]);
  });

  it('reports FILE_CHANGED when the file grows while it is sent, before its last chunk', async () => {
    const path = join(dir, 'growing.log');
    await writeFile(path, Buffer.alloc(3 * 1024, 1));
    const source = await open({ path });
    const seen: number[] = [];
    const err = await portunusError(
      (async () => {
        for await (const chunk of source.chunks(1024)) {
          seen.push(chunk.length);
          if (seen.length === 1) await appendFile(path, 'more');
        }
      })(),
    );
    expect(err.code).toBe('FILE_CHANGED');
    expect(exitCodeOf(err)).toBe(8);
    expect(seen).toEqual([1024, 1024]);
  });

  it('reports FILE_CHANGED when the file shrinks', async () => {
    const path = join(dir, 'shrinking');
    await writeFile(path, Buffer.alloc(4096, 1));
    const source = await open({ path });
    const err = await portunusError(
      (async () => {
        for await (const _ of source.chunks(1024)) await writeFile(path, 'x');
      })(),
    );
    expect(err.code).toBe('FILE_CHANGED');
  });
});

describe('unreadable sources fail with FILE_ERROR before any chunk', () => {
  it('a missing path', async () => {
    const err = await portunusError(openSource({ path: join(dir, 'nope') }));
    expect(err.code).toBe('FILE_ERROR');
    expect(err.message).toContain('no such file');
  });

  it('a dangling symlink', async () => {
    await symlink(join(dir, 'gone'), join(dir, 'dangling'));
    expect((await portunusError(openSource({ path: join(dir, 'dangling') }))).code).toBe('FILE_ERROR');
  });

  it('a path through a file (ENOTDIR)', async () => {
    await writeFile(join(dir, 'plain'), 'x');
    const err = await portunusError(openSource({ path: join(dir, 'plain', 'child') }));
    expect(err.code).toBe('FILE_ERROR');
    expect(err.message).toContain('not a folder');
  });

  it('a fifo (not a regular file)', async () => {
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    expect((await portunusError(openSource({ path: join(dir, 'pipe') }))).code).toBe('FILE_ERROR');
  });

  it('the root folder, which has no name to offer', async () => {
    expect((await portunusError(openSource({ path: '/' }))).code).toBe('FILE_ERROR');
  });

  it.skipIf(isRoot)('a file without read permission (EACCES)', async () => {
    await writeFile(join(dir, 'secret'), 'x');
    await chmod(join(dir, 'secret'), 0o000);
    const err = await portunusError(openSource({ path: join(dir, 'secret') }));
    expect(err.code).toBe('FILE_ERROR');
    expect(err.message).toContain('permission denied');
  });

  it.skipIf(isRoot)('a folder holding an unreadable file (EACCES)', async () => {
    await mkdir(join(dir, 'f'));
    await writeFile(join(dir, 'f', 'secret'), 'x');
    await chmod(join(dir, 'f', 'secret'), 0o000);
    expect((await portunusError(openSource({ path: join(dir, 'f') }))).code).toBe('FILE_ERROR');
  });

  // As root, chmod 000 does not stop reads; the same checks then run in a child process dropped to 'nobody'.
  it.runIf(isRoot)('EACCES for an unprivileged user (child process running as nobody)', async () => {
    await chmod(dir, 0o755);
    await writeFile(join(dir, 'secret'), 'x');
    await chmod(join(dir, 'secret'), 0o000);
    await mkdir(join(dir, 'f'), { mode: 0o755 });
    await writeFile(join(dir, 'f', 'secret'), 'x');
    await chmod(join(dir, 'f', 'secret'), 0o000);
    const probe = join(dir, 'probe.mts');
    const sourceModule = fileURLToPath(new URL('../../src/files/source.ts', import.meta.url));
    await writeFile(
      probe,
      `import { openSource } from ${JSON.stringify(sourceModule)};
       for (const path of process.argv.slice(2)) {
         try { await openSource({ path }); console.log('opened'); }
         catch (e) { console.log(e.code + ' ' + e.message); }
       }`,
    );
    const result = spawnSync(process.execPath, ['--import', 'tsx', probe, join(dir, 'secret'), join(dir, 'f')], {
      uid: 65534,
      gid: 65534,
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.stderr).toBe('');
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^FILE_ERROR .*permission denied/);
  });
});

describe('text and stdin sources', () => {
  it('a text offer carries the text and no data', async () => {
    const source = await open({ text: 'the wifi password is hunter2' });
    expect(source.offer).toEqual({ kind: 'text', text: 'the wifi password is hunter2' });
    expect(await collect(source.chunks(1024))).toEqual([]);
  });

  it('refuses text over 64 KiB with USAGE', async () => {
    expect((await portunusError(openSource({ text: 'x'.repeat(64 * 1024 + 1) }))).code).toBe('USAGE');
  });

  it('re-chunks stdin to exactly chunkSize', async () => {
    const pieces = [Buffer.alloc(3, 1), Buffer.alloc(10, 2), Buffer.alloc(1, 3), Buffer.alloc(7, 4)];
    const source = await open({ stdin: Readable.from(pieces), name: 'build.tar' });
    expect(source.offer).toEqual({ kind: 'stream', name: 'build.tar' });
    const chunks = await collect(source.chunks(5));
    expect(chunks.map((c) => c.length)).toEqual([5, 5, 5, 5, 1]);
    expect(concat(chunks).equals(Buffer.concat(pieces))).toBe(true);
  });

  it('refuses an unsafe --name with USAGE', async () => {
    expect((await portunusError(openSource({ stdin: Readable.from([]), name: '../x' }))).code).toBe('USAGE');
  });
});
