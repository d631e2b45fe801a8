import { execFileSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Offer, PortunusError } from '@portunus/protocol';
import { checkTarget, defaultSinkIo, openSink, type SinkIo } from '../../src/files/sink.js';
import { buildTar, feed, isRoot, portunusError, tempDir } from './fixtures.js';
import { exitCodeOf } from '../../src/ui/error-guide.js';

let base: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ path: base, cleanup } = await tempDir('disk-full'));
});
afterEach(() => cleanup());

/** Writes normally until `limit` bytes, then fails like a full disk (or with another errno). */
function failingIo(limit: number, code = 'ENOSPC'): SinkIo {
  let written = 0;
  return {
    async write(handle, data) {
      if (written + data.length > limit) throw Object.assign(new Error(`${code}: simulated`), { code });
      written += data.length;
      await defaultSinkIo.write(handle, data);
    },
  };
}

async function receiveFile(dir: string, size: number, io?: SinkIo) {
  const offer: Offer = { kind: 'file', name: 'big.bin', size };
  const sink = await openSink(await checkTarget(offer, { cwd: dir, overwrite: false }), offer, io ? { io } : {});
  const err = await portunusError(
    (async () => {
      await feed(sink, Buffer.alloc(size, 5), 16 * 1024);
      await sink.commit();
    })(),
  );
  await sink.abort();
  return err;
}

async function receiveFolder(dir: string, fileSize: number, io?: SinkIo) {
  const body = Buffer.alloc(fileSize, 6);
  const tar = await buildTar([
    { header: { name: 'photos/', type: 'directory' } },
    { header: { name: 'photos/a.bin', type: 'file' }, body },
    { header: { name: 'photos/b.bin', type: 'file' }, body },
  ]);
  const offer: Offer = { kind: 'folder', name: 'photos', size: tar.length, files: 2, bytes: 2 * fileSize };
  const sink = await openSink(await checkTarget(offer, { cwd: dir, overwrite: false }), offer, io ? { io } : {});
  const err = await portunusError(
    (async () => {
      await feed(sink, tar, 16 * 1024);
      await sink.commit();
    })(),
  );
  await sink.abort();
  return err;
}

describe('a full disk is reported as DISK_FULL and the partial data removed (injected write failure)', () => {
  it.each(['ENOSPC', 'EDQUOT'])('file, %s', async (code) => {
    const err = await receiveFile(base, 100_000, failingIo(40_000, code));
    expect(err.code).toBe('DISK_FULL');
    expect(exitCodeOf(err)).toBe(8);
    expect(await readdir(base)).toEqual([]);
  });

  it('folder, ENOSPC in the second file', async () => {
    const err = await receiveFolder(base, 50_000, failingIo(70_000));
    expect(err.code).toBe('DISK_FULL');
    expect(await readdir(base)).toEqual([]);
  });

  it('other write errors are FILE_ERROR', async () => {
    const err = await receiveFile(base, 100_000, failingIo(40_000, 'EIO'));
    expect(err.code).toBe('FILE_ERROR');
    expect(await readdir(base)).toEqual([]);
  });
});

describe('a real small file system (a 4 MiB tmpfs; needs root and mount)', () => {
  let mnt: string | undefined;

  beforeEach(async (ctx) => {
    if (!isRoot) {
      console.log('skipped: mounting a tmpfs needs root');
      ctx.skip();
    }
    const dir = join(base, 'mnt');
    await mkdir(dir);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'pipe' });
      mnt = dir;
    } catch (err) {
      console.log(`skipped: cannot mount a tmpfs (${String(err).split('\n')[0]})`);
      ctx.skip();
    }
  });
  afterEach(() => {
    if (mnt !== undefined) execFileSync('umount', [mnt]);
    mnt = undefined;
  });

  it('an offer that cannot fit is refused by checkTarget (statfs), before anything is created', async () => {
    const file: Offer = { kind: 'file', name: 'big.bin', size: 4 * 1024 * 1024 };
    const folder: Offer = { kind: 'folder', name: 'photos', size: 4 * 1024 * 1024, files: 2, bytes: 4_000_000 };
    for (const offer of [file, folder]) {
      const err = await portunusError(checkTarget(offer, { cwd: mnt!, overwrite: false }));
      expect(err.code).toBe('DISK_FULL');
      expect(err.message).toMatch(/MB needed, .* free/);
    }
    expect(await readdir(mnt!)).toEqual([]);
  });

  it('an offer that fits passes, even with the margin', async () => {
    const offer: Offer = { kind: 'file', name: 'ok.bin', size: 2 * 1024 * 1024 };
    expect(await checkTarget(offer, { cwd: mnt!, overwrite: false })).toEqual({
      kind: 'path',
      path: join(mnt!, 'ok.bin'),
      replace: false,
    });
  });

  it('a stream (no size offered) is not checked up front', async () => {
    const offer: Offer = { kind: 'stream', name: 'stdin' };
    expect(await checkTarget(offer, { cwd: mnt!, overwrite: false })).toMatchObject({ kind: 'path' });
  });

  /** The disk fills after the check (another program writes): the write path reports it and removes the partial. */
  async function fillAfterCheck(offer: Offer, data: Buffer): Promise<PortunusError> {
    const target = await checkTarget(offer, { cwd: mnt!, overwrite: false });
    // Writes until the disk is full (writeFile keeps what fitted, then fails with ENOSPC).
    await writeFile(join(mnt!, 'filler'), Buffer.alloc(4 * 1024 * 1024)).catch(() => undefined);
    const sink = await openSink(target, offer);
    const err = await portunusError(
      (async () => {
        await feed(sink, data, 16 * 1024);
        await sink.commit();
      })(),
    );
    await sink.abort();
    return err;
  }

  it('file', async () => {
    const err = await fillAfterCheck(
      { kind: 'file', name: 'big.bin', size: 1024 * 1024 },
      Buffer.alloc(1024 * 1024, 5),
    );
    expect(err.code).toBe('DISK_FULL');
    expect(await readdir(mnt!)).toEqual(['filler']);
  });

  it('folder', async () => {
    const body = Buffer.alloc(512 * 1024, 6);
    const tar = await buildTar([
      { header: { name: 'photos/', type: 'directory' } },
      { header: { name: 'photos/a.bin', type: 'file' }, body },
      { header: { name: 'photos/b.bin', type: 'file' }, body },
    ]);
    const offer: Offer = { kind: 'folder', name: 'photos', size: tar.length, files: 2, bytes: 2 * body.length };
    const err = await fillAfterCheck(offer, tar);
    expect(err.code).toBe('DISK_FULL');
    expect(await readdir(mnt!)).toEqual(['filler']);
  });
});
