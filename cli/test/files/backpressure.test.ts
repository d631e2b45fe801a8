/** Memory stays bounded on both sides: nothing runs far ahead of the slower party. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ByteGate } from '../../src/files/byte-gate.js';
import { WRITE_BEHIND_BYTES } from '../../src/files/file-sink.js';
import { rechunk } from '../../src/files/rechunk.js';
import { checkTarget, defaultSinkIo, openSink, type SinkIo } from '../../src/files/sink.js';
import { openSource } from '../../src/files/source.js';
import { collect, listTree, portunusError, tempDir } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('backpressure'));
});
afterEach(() => cleanup());

describe('ByteGate', () => {
  it('opens below the high-water mark and fails waiters on close', async () => {
    const gate = new ByteGate(100);
    await gate.wait();
    gate.produce(100);
    let opened = false;
    const waiting = gate.wait().then(() => {
      opened = true;
    });
    gate.consume(0);
    await Promise.resolve();
    expect(opened).toBe(false);
    gate.consume(1);
    await waiting;
    expect(opened).toBe(true);
    gate.produce(500);
    const failed = gate.wait();
    gate.close(new Error('gone'));
    await expect(failed).rejects.toThrow('gone');
    await expect(gate.wait()).rejects.toThrow('gone');
  });
});

describe('rechunk', () => {
  it('copies, so a source reusing its buffer cannot alter chunks already handed out', async () => {
    const shared = Buffer.alloc(4);
    async function* reusing() {
      for (const v of [1, 2, 3]) {
        shared.fill(v);
        yield shared;
      }
    }
    const chunks = await collect(rechunk(reusing(), 6));
    expect(chunks.map((c) => [...c])).toEqual([
      [1, 1, 1, 1, 2, 2],
      [2, 2, 3, 3, 3, 3],
    ]);
  });
});

describe('folder sink', () => {
  it('write() resolves only once the data is close to the disk (≤ 256 KiB in flight)', async () => {
    const root = join(dir, 'src', 'big');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'a.bin'), Buffer.alloc(4 * 1024 * 1024, 1));
    await writeFile(join(root, 'b.bin'), Buffer.alloc(1024 * 1024, 2));
    const source = await openSource({ path: root });
    let written = 0;
    const slowIo: SinkIo = {
      async write(handle, data) {
        await new Promise((resolve) => setImmediate(resolve));
        await defaultSinkIo.write(handle, data);
        written += data.length;
      },
    };
    await mkdir(join(dir, 'out'));
    const sink = await openSink(
      await checkTarget(source.offer, { cwd: join(dir, 'out'), overwrite: false }),
      source.offer,
      {
        io: slowIo,
      },
    );
    let fed = 0;
    let maxAhead = 0;
    for await (const chunk of source.chunks(64 * 1024)) {
      await sink.write(chunk);
      fed += chunk.length;
      maxAhead = Math.max(maxAhead, fed - written);
    }
    await sink.commit();
    expect(written).toBe(5 * 1024 * 1024);
    expect(maxAhead).toBeLessThanOrEqual(256 * 1024);
  });
});

describe('file sink write-behind', () => {
  /** An io whose writes finish only when the test says so, counting what reached the disk. */
  function gatedIo() {
    const releases: (() => void)[] = [];
    const state = { written: 0, started: 0 };
    const io: SinkIo = {
      async write(handle, data) {
        state.started += 1;
        await new Promise<void>((resolve) => releases.push(resolve));
        await defaultSinkIo.write(handle, data);
        state.written += data.length;
      },
    };
    const releaseAll = () => releases.splice(0).forEach((r) => r());
    return { io, state, releaseAll };
  }

  it('write() returns before the disk has the chunk, but never more than WRITE_BEHIND_BYTES ahead', async () => {
    const chunk = 1024 * 1024;
    const total = WRITE_BEHIND_BYTES + 3 * chunk;
    const offer = { kind: 'file' as const, name: 'wb.bin', size: total };
    const { io, state, releaseAll } = gatedIo();
    const sink = await openSink(await checkTarget(offer, { cwd: dir, overwrite: false }), offer, { io });
    // The first chunk is handed over while the disk has written nothing yet.
    await sink.write(Buffer.alloc(chunk, 1));
    expect(state.written).toBe(0);
    let accepted = chunk;
    let maxAhead = 0;
    const feeding = (async () => {
      for (let i = 1; i < total / chunk; i++) {
        await sink.write(Buffer.alloc(chunk, i + 1));
        accepted += chunk;
        maxAhead = Math.max(maxAhead, accepted - state.written);
      }
    })();
    // Release the disk one write at a time, until the feeder is through.
    let done = false;
    void feeding.then(() => (done = true));
    while (!done) {
      releaseAll();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const committing = sink.commit();
    while (state.written < total) {
      releaseAll();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const path = await committing;
    expect(maxAhead).toBeLessThanOrEqual(WRITE_BEHIND_BYTES + chunk);
    const data = await readFile(path);
    expect(data.length).toBe(total);
    // Written in order: chunk i is filled with i + 1.
    for (let i = 0; i < total / chunk; i++) expect(data[i * chunk]).toBe(i + 1);
  });

  it('a write that fails behind the caller fails the next write, and nothing is left on disk', async () => {
    const offer = { kind: 'file' as const, name: 'fail.bin', size: 3 * 1024 * 1024 };
    let calls = 0;
    const io: SinkIo = {
      async write(handle, data) {
        calls += 1;
        if (calls === 2) throw Object.assign(new Error('ENOSPC: simulated'), { code: 'ENOSPC' });
        await defaultSinkIo.write(handle, data);
      },
    };
    const sink = await openSink(await checkTarget(offer, { cwd: dir, overwrite: false }), offer, { io });
    await sink.write(Buffer.alloc(1024 * 1024, 1));
    await sink.write(Buffer.alloc(1024 * 1024, 2));
    const err = await portunusError(
      (async () => {
        await sink.write(Buffer.alloc(1024 * 1024, 3));
        await sink.commit();
      })(),
    );
    expect(err.code).toBe('DISK_FULL');
    expect(await listTree(dir)).toEqual([]);
  });
});

describe('file source read-ahead', () => {
  it('a consumer that stops early leaves no read running on the handle it closes', async () => {
    const path = join(dir, 'ahead.bin');
    await writeFile(path, Buffer.alloc(8 * 1024 * 1024, 9));
    const source = await openSource({ path });
    let seen = 0;
    for await (const chunk of source.chunks(1024 * 1024)) {
      seen += chunk.length;
      if (seen >= 2 * 1024 * 1024) break;
    }
    // Closing right after the early return must not race a read still in flight (it would fail with EBADF).
    await source.close();
    expect(seen).toBe(2 * 1024 * 1024);
  });
});
