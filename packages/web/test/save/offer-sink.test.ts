import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PortunusError, type Offer } from '@portunus/protocol';
import type { Sink } from '@portunus/client';
import { openOfferSink } from '../../src/save/offer-sink.js';
import type { Saver } from '../../src/save/saver.js';
import { buildTar } from '../archive/tar-fixtures.js';
import { readZip, unzipList, writeChunks } from '../archive/zip-check.js';

/** A saver that keeps what it is given and records how it was opened, committed or aborted. */
class RecordingSaver implements Saver {
  readonly kind = 'memory';
  readonly opened: { name: string; size: number | undefined; atLeast: number | undefined }[] = [];
  readonly chunks: Uint8Array[] = [];
  state = 'open';

  async open(name: string, size: number | undefined, atLeast?: number): Promise<Sink> {
    this.opened.push({ name, size, atLeast });
    return {
      write: async (chunk) => void this.chunks.push(chunk.slice()),
      commit: async () => {
        this.state = 'committed';
        return name;
      },
      abort: async () => void (this.state = 'aborted'),
    };
  }
}

async function failure(promise: Promise<unknown>): Promise<PortunusError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof PortunusError) return err;
    throw err;
  }
  throw new Error('expected a PortunusError');
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portunus-offer-sink-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('the sink for an accepted offer', () => {
  const file: Offer = { kind: 'file', name: 'a.bin', size: 5 };

  it('saves a file under its name with its size, and commits exactly that many bytes', async () => {
    const saver = new RecordingSaver();
    const sink = await openOfferSink(saver, file);
    await sink.write(new TextEncoder().encode('hel'));
    await sink.write(new TextEncoder().encode('lo'));
    expect(await sink.commit()).toBe('a.bin');
    expect(saver.opened).toEqual([{ name: 'a.bin', size: 5, atLeast: undefined }]);
    expect(Buffer.concat(saver.chunks).toString()).toBe('hello');
  });

  it('fails with CORRUPT, and aborts what was saved, on more or fewer bytes than offered', async () => {
    const more = new RecordingSaver();
    const sink = await openOfferSink(more, file);
    expect((await failure(sink.write(new Uint8Array(6)))).code).toBe('CORRUPT');
    expect(more.state).toBe('aborted');
    const fewer = new RecordingSaver();
    const short = await openOfferSink(fewer, file);
    await short.write(new Uint8Array(4));
    expect((await failure(short.commit())).message).toMatch(/ended after 4 of the 5 bytes/);
    expect(fewer.state).toBe('aborted');
  });

  it("saves a folder's tar as <name>.zip, telling the saver at least the files' bytes", async () => {
    const tar = await buildTar([
      { header: { name: 'docs/', type: 'directory' } },
      { header: { name: 'docs/a.txt' }, body: 'aaa' },
      { header: { name: 'docs/sub/b.txt' }, body: 'bb' },
    ]);
    const offer: Offer = { kind: 'folder', name: 'docs', size: tar.length, files: 2, bytes: 5 };
    const saver = new RecordingSaver();
    const sink = await openOfferSink(saver, offer);
    for (let at = 0; at < tar.length; at += 700) await sink.write(tar.subarray(at, at + 700));
    expect(await sink.commit()).toBe('docs.zip');
    expect(saver.opened).toEqual([{ name: 'docs.zip', size: undefined, atLeast: 5 }]);
    const path = join(dir, 'docs.zip');
    await writeChunks(path, saver.chunks);
    expect(unzipList(path).names).toEqual(['docs/', 'docs/a.txt', 'docs/sub/b.txt']);
    expect(readZip(path).bad).toBeNull();
  });

  it('aborts the zip when an entry is refused', async () => {
    const tar = await buildTar([{ header: { name: 'docs/../x' }, body: 'x' }]);
    const saver = new RecordingSaver();
    const sink = await openOfferSink(saver, { kind: 'folder', name: 'docs', size: tar.length, files: 1, bytes: 1 });
    expect((await failure(sink.write(tar))).code).toBe('UNSAFE_PATH');
    expect(saver.state).toBe('aborted');
  });
});
