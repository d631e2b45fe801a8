/**
 * Resuming a folder (tar-sink.ts, tar-journal.ts, tar-resume.ts; PROTOCOL.md §4.12): a receive kept after part of
 * the tar, rebuilt from its journal and the files in its part, claims exactly the SHA-256 of the tar's prefix that
 * the sender's source hashes, and continues from there to the same tree; the sender's tar is the same when made
 * again; a part changed on disk cannot be used.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Offer } from '@portunus/protocol';
import { nodeSha256 } from '@portunus/protocol/node';
import { Manifest } from '../../src/files/manifest.js';
import { CHECKPOINT_BYTES } from '../../src/files/resume-state.js';
import { openResumableSink } from '../../src/files/sink.js';
import { openSource } from '../../src/files/source.js';
import { TAR_HEAD_BYTES } from '../../src/files/tar-journal.js';
import { rebuildPrefix } from '../../src/files/tar-resume.js';
import { stateOf } from '../../src/files/temp-path.js';
import { collect, concat, feed, tempDir } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('tar-resume'));
});
afterEach(() => cleanup());

/** In tar order; `sub/many/` holds many small files, so one chunk carries many entries. */
const FILES: [string, Buffer][] = [
  ['a.txt', Buffer.from('first\n')],
  ['b.bin', randomBytes(5 * CHECKPOINT_BYTES + 300)],
  ['z.txt', randomBytes(700)],
  ['sub/c.bin', randomBytes(3 * CHECKPOINT_BYTES)],
  ...Array.from({ length: 300 }, (_, i): [string, Buffer] => [
    `sub/many/${String(i).padStart(3, '0')}.txt`,
    randomBytes(100 + i),
  ]),
];
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function source() {
  await mkdir(join(dir, 'src', 'photos', 'sub', 'many'), { recursive: true });
  await mkdir(join(dir, 'dst'), { recursive: true });
  for (const [name, data] of FILES) await writeFile(join(dir, 'src', 'photos', name), data);
  await symlink('../a.txt', join(dir, 'src', 'photos', 'sub', 'link')).catch(() => {});
  return openSource({ path: join(dir, 'src', 'photos') });
}

const target = () => ({ kind: 'path' as const, path: join(dir, 'dst', 'photos'), replace: false });
type TarOffer = Extract<Offer, { kind: 'folder' }>;

async function expectTree(): Promise<void> {
  for (const [name, data] of FILES) expect(sha256(await readFile(join(dir, 'dst', 'photos', name)))).toBe(sha256(data));
  expect(await readlink(join(dir, 'dst', 'photos', 'sub', 'link'))).toBe('../a.txt');
  expect(await readdir(join(dir, 'dst'))).toEqual(['photos']);
}

/** Receives the tar's first `cut` bytes and keeps them: the part and its state, and how much they hold. */
async function keptAfter(offer: TarOffer, tar: Buffer, cut: number) {
  const sink = await openResumableSink(target(), offer, undefined, { manifest: new Manifest() });
  await feed(sink, tar.subarray(0, cut), 256 * 1024);
  const kept = (await sink.keep())!;
  expect(kept.bytes).toBeLessThanOrEqual(cut);
  return { part: kept.path, state: stateOf(kept.path), bytes: kept.bytes };
}

describe('resuming a folder', () => {
  it('the tar is the same when made again, and its prefix hash matches the rebuilt part at every cut', async () => {
    const src = await source();
    const offer = src.offer as TarOffer;
    const tar = concat(await collect(src.chunks(1 << 20)));
    expect(concat(await collect(src.chunks(1 << 20))).equals(tar)).toBe(true);
    // Inside b.bin, at its end, in the small files after it, inside c.bin, among the many small files.
    for (const cut of [
      tar.length - 50_000,
      2 * CHECKPOINT_BYTES + 5,
      5 * CHECKPOINT_BYTES + 2000,
      5 * CHECKPOINT_BYTES + 3000,
      tar.length - 4000,
    ]) {
      const partial = await keptAfter(offer, tar, cut);
      const prefix = (await rebuildPrefix(partial, nodeSha256))!;
      expect(prefix.bytes).toBe(partial.bytes);
      const claim = prefix.hash.copy().digestHex();
      expect(claim).toBe(sha256(tar.subarray(0, partial.bytes)));
      expect((await src.hashPrefix!(partial.bytes, nodeSha256)).digestHex()).toBe(claim);

      const manifest = new Manifest();
      const sink = await openResumableSink(target(), offer, { partial, prefix }, { manifest });
      expect(sink.held).toBe(partial.bytes);
      await feed(sink, tar.subarray(partial.bytes), 300 * 1024);
      await sink.commit();
      await expectTree();
      expect(manifest.files().map((f) => f.sha256)).toEqual(FILES.map(([, data]) => sha256(data)));
      await rm(join(dir, 'dst', 'photos'), { recursive: true });
    }
    await src.close();
  });

  it('the sender goes on from a hashed prefix with the rest of the same tar', async () => {
    const src = await source();
    const tar = concat(await collect(src.chunks(1 << 20)));
    const at = 3 * CHECKPOINT_BYTES + 17;
    await src.hashPrefix!(at, nodeSha256);
    expect(concat(await collect(src.chunks(1 << 20, at))).equals(tar.subarray(at))).toBe(true);
    await src.hashPrefix!(at, nodeSha256);
    await src.close();
  });

  it('entries created after the last checkpoint (a kill -9) are removed, and the receive goes on from it', async () => {
    const src = await source();
    const offer = src.offer as TarOffer;
    const tar = concat(await collect(src.chunks(1 << 20)));
    const partial = await keptAfter(offer, tar, tar.length - 4000);
    // What the state said before the kill: a checkpoint inside b.bin; the journal lists more after it.
    const state = await readFile(partial.state);
    const records: { start: number; end: number }[] = [];
    for (let at = TAR_HEAD_BYTES; at < state.length;) {
      const end = at + 4 + state.readUInt32BE(at);
      records.push({ start: (JSON.parse(state.subarray(at + 4, end).toString()) as { start: number }).start, end });
      at = end;
    }
    const cut = 2 * CHECKPOINT_BYTES + 5;
    const length = records.filter((r) => r.start <= cut).at(-1)!.end - TAR_HEAD_BYTES;
    const head = Buffer.alloc(TAR_HEAD_BYTES, ' ');
    head.write(
      JSON.stringify({ ...JSON.parse(state.subarray(0, state.indexOf('\n')).toString()), bytes: cut, journal: length }),
    );
    head[TAR_HEAD_BYTES - 1] = 0x0a;
    await writeFile(partial.state, Buffer.concat([head, state.subarray(TAR_HEAD_BYTES)]));
    expect((await readdir(partial.part)).sort()).toEqual(['a.txt', 'b.bin', 'sub', 'z.txt']);

    const prefix = (await rebuildPrefix({ ...partial, bytes: cut }, nodeSha256))!;
    expect(prefix.hash.copy().digestHex()).toBe(sha256(tar.subarray(0, cut)));
    expect((await readdir(partial.part)).sort()).toEqual(['a.txt', 'b.bin']);
    const sink = await openResumableSink(target(), offer, { partial: { ...partial, bytes: cut }, prefix });
    await feed(sink, tar.subarray(cut), 1 << 20);
    await sink.commit();
    await expectTree();
    await src.close();
  });

  it('small files are written a few at once, but no checkpoint counts one still being written', async () => {
    // 400 files of 8 KiB: over 3 MiB of stream, so checkpoints fall due while file 20's write is held.
    const files = Array.from({ length: 400 }, (_, i) => Buffer.alloc(8192, i === 20 ? 0xee : 1 + (i % 200)));
    await mkdir(join(dir, 'src', 'many'), { recursive: true });
    await mkdir(join(dir, 'dst'), { recursive: true });
    for (const [i, data] of files.entries())
      await writeFile(join(dir, 'src', 'many', `${String(i).padStart(3, '0')}`), data);
    const src = await openSource({ path: join(dir, 'src', 'many') });
    const offer = src.offer as TarOffer;
    const tar = concat(await collect(src.chunks(1 << 20)));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    const io = {
      async write(handle: import('node:fs/promises').FileHandle, data: Uint8Array) {
        if (data[0] === 0xee) ((holding = true), await held);
        await handle.write(data);
      },
    };
    const target = { kind: 'path' as const, path: join(dir, 'dst', 'many'), replace: false };
    const sink = await openResumableSink(target, offer, undefined, { manifest: new Manifest(), io });
    // All of it goes in while file 20 is held: the files after it are written meanwhile.
    await feed(sink, tar, 64 * 1024);
    expect(holding).toBe(true);
    const part = (await readdir(join(dir, 'dst'))).find((name) => name.endsWith('.part'))!;
    expect((await readdir(join(dir, 'dst', part))).length).toBeGreaterThan(21);
    const state = await readFile(stateOf(join(dir, 'dst', part)));
    const recorded = (JSON.parse(state.subarray(0, state.indexOf('\n')).toString()) as { bytes: number }).bytes;
    // File 20's data starts after 20 files of 512 + 8192 bytes, the folder's header and its own header.
    expect(recorded).toBeLessThanOrEqual(512 + 20 * (512 + 8192) + 512);
    release();
    await sink.commit();
    for (const [i, data] of files.entries())
      expect(sha256(await readFile(join(dir, 'dst', 'many', String(i).padStart(3, '0'))))).toBe(sha256(data));
    await src.close();
  });

  it('a part with a kept file edited, or a file missing, cannot be used', async () => {
    const src = await source();
    const offer = src.offer as TarOffer;
    const tar = concat(await collect(src.chunks(1 << 20)));
    const partial = await keptAfter(offer, tar, tar.length - 4000);
    await writeFile(join(partial.part, 'z.txt'), randomBytes(700));
    expect(await rebuildPrefix(partial, nodeSha256)).toBeDefined(); // same size: only the sender can tell
    await writeFile(join(partial.part, 'z.txt'), 'shorter');
    expect(await rebuildPrefix(partial, nodeSha256)).toBeUndefined();
    await rm(join(partial.part, 'z.txt'));
    expect(await rebuildPrefix(partial, nodeSha256)).toBeUndefined();
  });
});
