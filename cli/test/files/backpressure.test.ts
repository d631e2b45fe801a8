/** Memory stays bounded on both sides: nothing runs far ahead of the slower party. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ByteGate } from '../../src/files/byte-gate.js';
import { rechunk } from '../../src/files/rechunk.js';
import { checkTarget, defaultSinkIo, openSink, type SinkIo } from '../../src/files/sink.js';
import { openSource } from '../../src/files/source.js';
import { collect, tempDir } from './fixtures.js';

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
    const sink = await openSink(await checkTarget(source.offer, { cwd: join(dir, 'out'), overwrite: false }), source.offer, {
      io: slowIo,
    });
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
