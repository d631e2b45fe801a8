import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extract as createExtract } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSource } from '../../src/files/source.js';
import { collect, concat, portunusError, tempDir } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('folder-source'));
});
afterEach(() => cleanup());

/** Entries of a tar as "type name [-> link]" lines, parsed back with tar-stream extract. */
async function listTar(tar: Buffer): Promise<string[]> {
  const extract = createExtract();
  const out: string[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const { type, name, linkname, mode } = entry.header;
      const body = await collect(entry as AsyncIterable<Uint8Array>);
      const extra =
        type === 'symlink' ? ` -> ${linkname}` : type === 'file' ? ` ${concat(body).length} ${mode?.toString(8)}` : '';
      out.push(`${type} ${name}${extra}`);
    }
  })();
  extract.end(tar);
  await done;
  return out;
}

describe('folder source', () => {
  it('streams a deterministic tar whose length is exactly the offered size', async () => {
    const root = join(dir, 'photos');
    await mkdir(join(root, 'b', 'deep', 'deeper'), { recursive: true });
    await mkdir(join(root, 'a empty'));
    await writeFile(join(root, 'z.txt'), 'zzz');
    await writeFile(join(root, 'b', 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(join(root, 'b', 'deep', 'ünï 日本.txt'), 'unicode');
    await writeFile(join(root, 'b', 'deep', 'deeper', 'x'.repeat(200)), Buffer.alloc(5000, 1));
    await symlink('../z.txt', join(root, 'b', 'to-z'));
    await symlink('deep', join(root, 'b', 'to-deep'));

    const source = await openSource({ path: root });
    const tar = concat(await collect(source.chunks(1000)));
    expect(source.offer).toEqual({
      kind: 'folder',
      name: 'photos',
      size: tar.length,
      files: 4,
      bytes: 3 + 10 + 7 + 5000,
    });
    expect(await listTar(tar)).toEqual([
      'directory photos/',
      'file photos/z.txt 3 644',
      'directory photos/a empty/',
      'directory photos/b/',
      'file photos/b/run.sh 10 755',
      'symlink photos/b/to-deep -> deep',
      'symlink photos/b/to-z -> ../z.txt',
      'directory photos/b/deep/',
      'file photos/b/deep/ünï 日本.txt 7 644',
      'directory photos/b/deep/deeper/',
      `file photos/b/deep/deeper/${'x'.repeat(200)} 5000 644`,
    ]);
    // Same folder, same bytes: the order does not depend on readdir.
    const again = await openSource({ path: root });
    expect(concat(await collect(again.chunks(4096))).equals(tar)).toBe(true);
  });

  it('cuts the tar into chunks of exactly chunkSize', async () => {
    await mkdir(join(dir, 'f'));
    await writeFile(join(dir, 'f', 'a'), Buffer.alloc(3000, 2));
    const source = await openSource({ path: join(dir, 'f') });
    const chunks = await collect(source.chunks(1024));
    expect(chunks.slice(0, -1).every((c) => c.length === 1024)).toBe(true);
    expect(chunks.at(-1)!.length).toBe(source.offer.kind === 'folder' ? source.offer.size % 1024 || 1024 : -1);
  });

  it('skips, with a warning, links pointing outside, dangling links, fifos and unsafe names', async () => {
    const root = join(dir, 'f');
    await mkdir(root);
    await writeFile(join(dir, 'outside.txt'), 'secret');
    await writeFile(join(root, 'kept.txt'), 'k');
    await symlink('../outside.txt', join(root, 'out-rel'));
    await symlink('/etc/passwd', join(root, 'out-abs'));
    await symlink('missing', join(root, 'dangling'));
    await symlink('.', join(root, 'self'));
    await writeFile(join(root, 'esc\x1b[31mred'), 'x');
    execFileSync('mkfifo', [join(root, 'pipe')]);
    const warnings: string[] = [];
    const source = await openSource({ path: root }, { onWarning: (m) => warnings.push(m) });
    const entries = await listTar(concat(await collect(source.chunks(512))));
    expect(entries).toEqual(['directory f/', 'file f/kept.txt 1 644', 'symlink f/self -> .']);
    expect(warnings).toHaveLength(5);
    expect(warnings.join('\n')).toMatch(/out-rel.*outside the folder/);
    expect(warnings.join('\n')).toMatch(/out-abs.*outside the folder/);
    expect(warnings.join('\n')).toMatch(/dangling.*does not exist/);
    expect(warnings.join('\n')).toMatch(/pipe.*not a regular file/);
    expect(warnings.join('\n')).not.toContain('\x1b');
  });

  it('refuses a folder with more entries than the cap', async () => {
    await mkdir(join(dir, 'f'));
    for (let i = 0; i < 5; i++) await writeFile(join(dir, 'f', `n${i}`), '');
    const err = await portunusError(openSource({ path: join(dir, 'f') }, { maxEntries: 5 }));
    expect(err.code).toBe('FILE_ERROR');
  });

  it('reports FILE_CHANGED when a file grows while the tar streams', async () => {
    const root = join(dir, 'f');
    await mkdir(root);
    await writeFile(join(root, 'big.bin'), Buffer.alloc(2 * 1024 * 1024, 3));
    const source = await openSource({ path: root });
    let chunks = 0;
    const err = await portunusError(
      (async () => {
        for await (const _ of source.chunks(16 * 1024)) {
          if (++chunks === 1) await appendFile(join(root, 'big.bin'), 'more');
        }
      })(),
    );
    expect(err.code).toBe('FILE_CHANGED');
    // It stopped well before the end: the change was caught, not streamed past.
    expect(chunks * 16 * 1024).toBeLessThan(2 * 1024 * 1024);
  });

  it('reports FILE_CHANGED when a file changed between the listing and the streaming', async () => {
    const root = join(dir, 'f');
    await mkdir(root);
    await writeFile(join(root, 'a'), 'aaaa');
    const source = await openSource({ path: root });
    await truncate(join(root, 'a'), 1);
    expect((await portunusError(collect(source.chunks(512)))).code).toBe('FILE_CHANGED');
  });

  it('stops cleanly when the consumer stops early', async () => {
    const root = join(dir, 'f');
    await mkdir(root);
    await writeFile(join(root, 'big.bin'), Buffer.alloc(4 * 1024 * 1024, 3));
    const source = await openSource({ path: root });
    let got = 0;
    for await (const chunk of source.chunks(64 * 1024)) {
      got += chunk.length;
      if (got >= 256 * 1024) break;
    }
    expect(got).toBe(256 * 1024);
    // A second full pass still works (nothing left locked or half-open).
    const all = concat(await collect(source.chunks(64 * 1024)));
    expect(all.length).toBe(source.offer.kind === 'folder' ? source.offer.size : -1);
  });
});
