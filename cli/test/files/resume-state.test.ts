/**
 * What a receive keeps for a later one (resume-state.ts, the resumable file sink; PROTOCOL.md §4.12): the state
 * records what is written, a later receive finds only a partial of the same offer whose owner is gone, takes it over
 * under its own names, continues after its prefix, and a commit or abort leaves nothing behind.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createError } from '@portunus/protocol';
import {
  adopt,
  CHECKPOINT_BYTES,
  checkpointInterval,
  findPartials,
  MAX_CHECKPOINT_BYTES,
  type ResumeIdentity,
} from '../../src/files/resume-state.js';
import { defaultSinkIo, openResumableSink, type SinkIo } from '../../src/files/sink.js';
import { currentOwner, stateOf, tempSibling } from '../../src/files/temp-path.js';
import { isInterruption } from '../../src/transfer/resume.js';
import { feed, tempDir } from './fixtures.js';

let dead: number;
beforeAll(async () => {
  const gone = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => gone.on('exit', resolve));
  dead = gone.pid!;
});

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('resume'));
});
afterEach(() => cleanup());

const SIZE = 3 * CHECKPOINT_BYTES + 1000;
const offer = { kind: 'file' as const, name: 'big.bin', size: SIZE, mode: 0o644 };
const identity: ResumeIdentity = { target: 'big.bin', name: 'big.bin', size: SIZE, mode: 0o644 };
const target = () => ({ kind: 'path' as const, path: join(dir, 'big.bin'), replace: false });
const hidden = async () => (await readdir(dir)).filter((n) => n.startsWith('.')).sort();

/** A partial as a receive killed with `bytes` recorded leaves it (owned by a gone process). */
async function leftover(bytes: number, id: ResumeIdentity = identity, data = randomBytes(bytes)): Promise<string> {
  const part = tempSibling(join(dir, id.target), randomBytes, 'part', { host: currentOwner().host, pid: dead });
  await writeFile(part, data);
  await writeFile(stateOf(part), JSON.stringify({ format: 'portunus-resume-v1', ...id, bytes }));
  return part;
}

describe('the resumable file sink', () => {
  it('records what is written, at least every CHECKPOINT_BYTES, and keep() leaves the pair with the whole count', async () => {
    const sink = await openResumableSink(target(), offer, undefined);
    const data = randomBytes(2 * CHECKPOINT_BYTES + 10);
    await feed(sink, data, 64 * 1024);
    const kept = await sink.keep();
    const names = await hidden();
    expect(kept).toEqual({ path: join(dir, names[0]!), bytes: data.length });
    expect(names.map((n) => n.replace(/.*\./, ''))).toEqual(['part', 'resume']);
    const state = JSON.parse(await readFile(join(dir, names[1]!), 'utf8')) as Record<string, unknown>;
    expect(state).toEqual({ format: 'portunus-resume-v1', ...identity, bytes: data.length });
    expect((await readFile(join(dir, names[0]!))).equals(data)).toBe(true);
  });

  it(
    'writes that complete while a checkpoint syncs are recorded by the next checkpoint, with no write after them',
    { timeout: 30_000 },
    async () => {
      // The first checkpoint's fsync is held until every write has completed: then no write comes to start another,
      // as when the peer stalls right after its last frame. The state must still catch up (it once stayed behind).
      const data = randomBytes(3 * CHECKPOINT_BYTES);
      let written = 0;
      let allWritten!: () => void;
      const wroteAll = new Promise<void>((resolve) => (allWritten = resolve));
      let releaseFirst!: () => void;
      const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
      const synced: number[] = [];
      let secondSync!: () => void;
      const second = new Promise<void>((resolve) => (secondSync = resolve));
      const io: SinkIo = {
        async write(handle, chunk) {
          await defaultSinkIo.write(handle, chunk);
          written += chunk.length;
          if (written === data.length) allWritten();
        },
        async sync(handle) {
          synced.push(written);
          if (synced.length === 1) await firstHeld;
          await handle.sync();
          if (synced.length === 2) secondSync();
        },
      };
      const sink = await openResumableSink(target(), offer, undefined, { io });
      const fed = feed(sink, data, 64 * 1024);
      await wroteAll;
      releaseFirst();
      await second;
      expect(synced[0]).toBeLessThan(data.length);
      expect(synced[1]).toBe(data.length);
      await fed;
      const kept = await sink.keep();
      expect(kept?.bytes).toBe(data.length);
    },
  );

  it('checkpoints a large offer every 1/64 of it, at most MAX_CHECKPOINT_BYTES apart; a small one every CHECKPOINT_BYTES', async () => {
    const MiB = 1024 * 1024;
    expect([64 * MiB, 100 * MiB, 1024 * MiB, 100 * 1024 * MiB].map(checkpointInterval)).toEqual([
      CHECKPOINT_BYTES,
      Math.floor((100 * MiB) / 64),
      MAX_CHECKPOINT_BYTES,
      MAX_CHECKPOINT_BYTES,
    ]);
    expect(checkpointInterval(0)).toBe(CHECKPOINT_BYTES);
    // A 1 GiB offer, 40 MiB of it written: each sync starts once 16 MiB more are written than the last recorded.
    const big = { ...offer, size: 1024 * MiB };
    let written = 0;
    const synced: number[] = [];
    const io: SinkIo = {
      async write(handle, chunk) {
        await defaultSinkIo.write(handle, chunk);
        written += chunk.length;
      },
      async sync(handle) {
        synced.push(written);
        await handle.sync();
      },
    };
    const sink = await openResumableSink(target(), big, undefined, { io });
    await feed(sink, Buffer.alloc(40 * MiB, 7), MiB);
    const during = [...synced];
    const kept = await sink.keep();
    expect(kept?.bytes).toBe(40 * MiB);
    expect(during.length).toBeGreaterThanOrEqual(1);
    expect(during.length).toBeLessThanOrEqual(2);
    during.forEach((at, i) => expect(at - (during[i - 1] ?? 0)).toBeGreaterThanOrEqual(MAX_CHECKPOINT_BYTES));
  });

  it('commit moves the file into place and removes the state; abort removes both', async () => {
    const sink = await openResumableSink(target(), offer, undefined);
    await feed(sink, randomBytes(SIZE), 1 << 20);
    await sink.commit();
    expect(await readdir(dir)).toEqual(['big.bin']);

    const other = await openResumableSink({ ...target(), path: join(dir, 'x.bin') }, offer, undefined);
    await feed(other, randomBytes(1000));
    await other.abort();
    expect(await readdir(dir)).toEqual(['big.bin']);
  });

  it('keep() of a sink that holds nothing removes it: nothing to resume', async () => {
    const sink = await openResumableSink(target(), offer, undefined);
    expect(await sink.keep()).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a taken-over partial continues after its recorded prefix (the part cut to it); restart() starts at 0', async () => {
    const data = randomBytes(SIZE);
    // The part holds more than the state recorded: only the recorded bytes count.
    const part = await leftover(CHECKPOINT_BYTES, identity, data.subarray(0, CHECKPOINT_BYTES + 500));
    const [found] = await findPartials(target().path, identity);
    const taken = await adopt(found!, target().path, randomBytes);
    expect(taken?.bytes).toBe(CHECKPOINT_BYTES);
    expect(taken?.part).toContain(`-${process.pid}-`);
    expect(await adopt(found!, target().path, randomBytes)).toBeUndefined(); // already taken
    expect((await hidden()).some((n) => n === part.slice(dir.length + 1))).toBe(false);

    const sink = await openResumableSink(target(), offer, taken && { partial: taken });
    expect(sink.held).toBe(CHECKPOINT_BYTES);
    await feed(sink, data.subarray(CHECKPOINT_BYTES), 1 << 20);
    await sink.commit();
    expect((await readFile(join(dir, 'big.bin'))).equals(data)).toBe(true);
    expect(await readdir(dir)).toEqual(['big.bin']);
  });

  it('restart() empties a taken-over part: the data then starts from zero', async () => {
    const data = randomBytes(SIZE);
    await leftover(CHECKPOINT_BYTES);
    const [found] = await findPartials(target().path, identity);
    const taken = await adopt(found!, target().path, randomBytes);
    const sink = await openResumableSink(target(), offer, taken && { partial: taken });
    await sink.restart();
    expect(sink.held).toBe(0);
    await feed(sink, data, 1 << 20);
    await sink.commit();
    expect((await readFile(join(dir, 'big.bin'))).equals(data)).toBe(true);
  });
});

describe('findPartials', () => {
  it('finds only partials of the same target and offer, of a gone process, with the recorded bytes, largest first', async () => {
    const small = await leftover(10);
    const large = await leftover(20);
    await leftover(10, { ...identity, size: SIZE + 1 });
    await leftover(10, { ...identity, mode: 0o755 });
    await leftover(10, { ...identity, name: 'other.bin' });
    await leftover(10, { ...identity, target: 'renamed.bin' });
    const short = await leftover(10);
    await writeFile(short, randomBytes(5)); // the disk lost what was recorded
    const torn = await leftover(10);
    await writeFile(stateOf(torn), '{"format":"portunus-resume-v1","tar');
    const mine = tempSibling(target().path, randomBytes, 'part');
    await writeFile(mine, randomBytes(10));
    await writeFile(stateOf(mine), JSON.stringify({ format: 'portunus-resume-v1', ...identity, bytes: 10 }));

    const found = await findPartials(target().path, identity);
    expect(found.map((p) => p.part)).toEqual([large, small]);
  });
});

it('keeps a partial after an interruption, never after a cancel or a corrupt stream', () => {
  for (const code of ['INTERRUPTED', 'PEER_GONE', 'RELAY_UNREACHABLE', 'TIMEOUT'] as const) {
    expect(isInterruption(createError(code, 'x').code)).toBe(true);
  }
  for (const code of ['CANCELLED', 'CORRUPT', 'PROTOCOL', 'FILE_ERROR', 'DISK_FULL', 'REJECTED'] as const) {
    expect(isInterruption(createError(code, 'x').code)).toBe(false);
  }
});
