/**
 * The sweep removes only what tempSibling made, on this host, for this user, by a process that is gone. Real
 * processes stand for owners: one that has exited (its pid is dead) and one still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeSwept, RESUME_KEEP_MS, sweepStaleTemps } from '../../src/files/stale-temps.js';
import { currentOwner, hostTag, partOwner, stateOf, tempSibling, type TempOwner } from '../../src/files/temp-path.js';
import { tempDir } from './fixtures.js';

let dead: number;
let live: ChildProcess;

beforeAll(async () => {
  const gone = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => gone.on('exit', resolve));
  dead = gone.pid!;
  live = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] });
  await new Promise((resolve) => live.on('spawn', resolve));
});
afterAll(() => {
  live.kill('SIGKILL');
});

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('stale'));
});
afterEach(() => cleanup());

const counter = (): ((n: number) => Uint8Array) => {
  let i = 0;
  return (n) => new Uint8Array(n).fill(++i);
};

function ownedBy(pid: number, host = currentOwner().host): TempOwner {
  return { host, pid };
}

describe('temporary names carry their owner', () => {
  it('tempSibling → partOwner round trip, for any stem; other names have no owner', () => {
    const owner = ownedBy(4_194_304);
    for (const stem of ['a.txt', 'ünï cødé.portunus-x.part', '.hidden', 'x'.repeat(300)]) {
      const name = tempSibling(join(dir, stem), counter(), 'part', owner).slice(dir.length + 1);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
      expect(partOwner(name)).toEqual(owner);
    }
    const old = tempSibling(join(dir, 'a'), counter(), 'old', owner).slice(dir.length + 1);
    for (const name of [
      old,
      '.a.portunus-0102030405.part',
      '.a.portunus-0a0b0c0d-12-010101010101.part.txt',
      'a.part',
    ]) {
      expect(partOwner(name)).toBeUndefined();
    }
  });

  it('the host tag covers the host name and the pid namespace', () => {
    expect(hostTag('a')).not.toBe(hostTag('b'));
    expect(hostTag('a', 'pid:[1]')).not.toBe(hostTag('a', 'pid:[2]'));
    expect(currentOwner().host).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe('sweepStaleTemps', () => {
  it('removes a dead process’s .part file and .part folder, reporting each; leaves everything else', async () => {
    const random = counter();
    const staleFile = tempSibling(join(dir, 'big.bin'), random, 'part', ownedBy(dead));
    const staleFolder = tempSibling(join(dir, 'photos'), random, 'part', ownedBy(dead));
    const keep = [
      tempSibling(join(dir, 'live.bin'), random, 'part', ownedBy(live.pid!)),
      tempSibling(join(dir, 'mine.bin'), random, 'part', ownedBy(process.pid)),
      tempSibling(join(dir, 'other-host.bin'), random, 'part', ownedBy(dead, hostTag('elsewhere'))),
      tempSibling(join(dir, 'photos'), random, 'old', ownedBy(dead)),
      join(dir, '.legacy.portunus-0a0b0c0d0e0f.part'),
      join(dir, 'report.part'),
    ];
    await writeFile(staleFile, Buffer.alloc(1234));
    await mkdir(join(staleFolder, 'sub'), { recursive: true });
    await writeFile(join(staleFolder, 'sub', 'x'), 'x');
    for (const path of keep) await writeFile(path, 'keep');
    const linked = tempSibling(join(dir, 'link'), random, 'part', ownedBy(dead));
    await symlink(join(dir, 'report.part'), linked);

    const swept = await sweepStaleTemps(dir);

    expect(swept).toEqual(
      expect.arrayContaining([
        { path: staleFile, kind: 'file', bytes: 1234, pid: dead },
        { path: staleFolder, kind: 'folder', pid: dead },
      ]),
    );
    expect(swept).toHaveLength(2);
    const left = keep.map((p) => p.slice(dir.length + 1)).concat(linked.slice(dir.length + 1));
    expect((await readdir(dir)).sort()).toEqual(left.sort());
  });

  it('keeps a dead process’s .part beside its .resume state (PROTOCOL.md §4.12); removes a state without its part', async () => {
    const random = counter();
    const resumable = tempSibling(join(dir, 'big.bin'), random, 'part', ownedBy(dead));
    const orphan = tempSibling(join(dir, 'gone.bin'), random, 'resume', ownedBy(dead));
    const liveOrphan = tempSibling(join(dir, 'live.bin'), random, 'resume', ownedBy(live.pid!));
    await writeFile(resumable, Buffer.alloc(10));
    await writeFile(stateOf(resumable), '{}');
    await writeFile(orphan, '{}');
    await writeFile(liveOrphan, '{}');

    expect(await sweepStaleTemps(dir)).toEqual([]);
    const left = [resumable, stateOf(resumable), liveOrphan].map((p) => p.slice(dir.length + 1));
    expect((await readdir(dir)).sort()).toEqual(left.sort());
  });

  it('removes a resumable .part and its state once the state is older than RESUME_KEEP_MS, saying why', async () => {
    const random = counter();
    const fresh = tempSibling(join(dir, 'fresh.bin'), random, 'part', ownedBy(dead));
    const abandoned = tempSibling(join(dir, 'abandoned.bin'), random, 'part', ownedBy(dead));
    for (const part of [fresh, abandoned]) {
      await writeFile(part, Buffer.alloc(10));
      await writeFile(stateOf(part), '{}');
    }
    const now = Date.now();
    const old = new Date(now - RESUME_KEEP_MS - 60_000);
    await utimes(stateOf(abandoned), old, old);
    const recent = new Date(now - RESUME_KEEP_MS + 60_000);
    await utimes(stateOf(fresh), recent, recent);

    const swept = await sweepStaleTemps(dir, undefined, now);
    expect(swept).toEqual([{ path: abandoned, kind: 'file', bytes: 10, pid: dead, expired: true }]);
    expect(describeSwept(swept[0]!)).toContain('kept for resuming, unused for 7 days');
    const left = [fresh, stateOf(fresh)].map((p) => p.slice(dir.length + 1));
    expect((await readdir(dir)).sort()).toEqual(left.sort());
  });

  it('an unreadable or missing folder sweeps nothing and does not throw', async () => {
    expect(await sweepStaleTemps(join(dir, 'missing'))).toEqual([]);
  });

  it('says what it removed, and that its owner is gone', () => {
    const line = describeSwept({
      path: '/data/.big.bin.portunus-0a0b0c0d-42-010203040506.part',
      kind: 'file',
      bytes: 11_500_000,
      pid: 42,
    });
    expect(line).toBe(
      'Removed the partial file "/data/.big.bin.portunus-0a0b0c0d-42-010203040506.part" (11.5 MB) left by an earlier receive (process 42, no longer running).',
    );
  });
});
