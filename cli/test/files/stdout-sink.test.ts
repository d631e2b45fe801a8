import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Offer } from '@portunus/protocol';
import { openSink } from '../../src/files/sink.js';
import { openSource } from '../../src/files/source.js';
import { buildTar, collect, concat, portunusError, tempDir } from './fixtures.js';

/** A slow standard output that records what it got, one write at a time. */
function recorder(fail?: Error): { out: Writable; got: Buffer[]; maxPending: () => number } {
  const got: Buffer[] = [];
  let pending = 0;
  let max = 0;
  const out = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _enc, cb) {
      pending++;
      max = Math.max(max, pending);
      setImmediate(() => {
        pending--;
        if (fail) return cb(fail);
        got.push(Buffer.from(chunk));
        cb();
      });
    },
  });
  return { out, got, maxPending: () => max };
}

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = await tempDir('stdout'));
});
afterEach(() => cleanup());

describe("'-' target: standard output", () => {
  it('writes the bytes, one chunk at a time, and commits as "-"', async () => {
    const { out, got, maxPending } = recorder();
    const offer: Offer = { kind: 'file', name: 'a.txt', size: 11 };
    const sink = await openSink({ kind: 'stdout' }, offer, { stdout: out });
    for (const piece of ['hello', ' ', 'world']) await sink.write(Buffer.from(piece));
    expect(await sink.commit()).toBe('-');
    expect(Buffer.concat(got).toString()).toBe('hello world');
    expect(maxPending()).toBe(1);
  });

  it('a folder goes out as its tar stream, byte for byte', async () => {
    await mkdir(join(dir, 'f'));
    await writeFile(join(dir, 'f', 'a'), 'aaa');
    const source = await openSource({ path: join(dir, 'f') });
    const { out, got } = recorder();
    const sink = await openSink({ kind: 'stdout' }, source.offer, { stdout: out });
    const chunks = await collect(source.chunks(700));
    for (const chunk of chunks) await sink.write(chunk);
    await sink.commit();
    expect(Buffer.concat(got).equals(concat(chunks))).toBe(true);
  });

  it('a short stream is CORRUPT at commit; an excess one at the first extra byte', async () => {
    const offer: Offer = { kind: 'file', name: 'a', size: 3 };
    const short = await openSink({ kind: 'stdout' }, offer, { stdout: recorder().out });
    await short.write(Buffer.from('ab'));
    expect((await portunusError(short.commit())).code).toBe('CORRUPT');
    const long = await openSink({ kind: 'stdout' }, offer, { stdout: recorder().out });
    await long.write(Buffer.from('abc'));
    expect((await portunusError(long.write(Buffer.from('d')))).code).toBe('CORRUPT');
  });

  it('a closed output is FILE_ERROR, not a crash', async () => {
    const { out } = recorder(Object.assign(new Error('EPIPE: broken pipe'), { code: 'EPIPE' }));
    const sink = await openSink({ kind: 'stdout' }, { kind: 'stream', name: 'x' }, { stdout: out });
    const err = await portunusError(sink.write(Buffer.from('data')));
    expect(err.code).toBe('FILE_ERROR');
    expect(err.message).toContain('output was closed');
    await sink.abort();
  });

  it('streams of unknown length are not size-checked', async () => {
    const { out, got } = recorder();
    const sink = await openSink({ kind: 'stdout' }, { kind: 'stream', name: 'x' }, { stdout: out });
    await sink.write(await buildTar([]));
    await sink.commit();
    expect(Buffer.concat(got).length).toBe(1024);
  });
});
