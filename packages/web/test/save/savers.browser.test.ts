/**
 * The savers in headless Chromium (Debian's /usr/bin/chromium through playwright-core), on a page and a service
 * worker bundled by esbuild in this test and served from 127.0.0.1 (a secure context): the streamed download
 * through the worker, the File System Access writer on an origin-private file (same writable as the save dialog's,
 * with no dialog), and the memory saver's limit.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, launchChromium, type Chromium } from '../../../../test/browser/chromium.js';
import { serveStatic, type StaticServer } from '../../../../test/browser/serve.js';
import { buildTar } from '../archive/tar-fixtures.js';
import { readZip, unzipList } from '../archive/zip-check.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../../..');
const CHUNK = 1024 * 1024;

/**
 * Deterministic bytes for chunk `k`, made the same way in Node and in the page (its source is sent there), so the
 * page generates the data as it writes and never holds more than one chunk.
 */
function fillChunk(bytes: Uint8Array, k: number): Uint8Array {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  let x = (k + 1) * 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return bytes;
}

function expectedSha256(chunks: number): string {
  const hash = createHash('sha256');
  const buf = new Uint8Array(CHUNK);
  for (let k = 0; k < chunks; k++) hash.update(fillChunk(buf, k));
  return hash.digest('hex');
}

/** The page's modules, on `globalThis.portunus`; bundled from source text so no DOM-typed file joins Node's tsc. */
async function bundle(contents: string): Promise<string> {
  const result = await build({
    stdin: { contents, resolveDir: ROOT, loader: 'ts', sourcefile: 'test-page.ts' },
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

const PAGE_ENTRY = `
import { DownloadSaver } from './packages/web/src/save/download-saver.ts';
import { FileSystemSaver } from './packages/web/src/save/file-system-saver.ts';
import { MemorySaver, MEMORY_SAVE_LIMIT } from './packages/web/src/save/memory-saver.ts';
import { openOfferSink } from './packages/web/src/save/offer-sink.ts';
import { pickSaver } from './packages/web/src/save/pick-saver.ts';
import { planTar, writeTar } from './packages/web/src/archive/tar-writer.ts';
(globalThis as any).portunus = {
  DownloadSaver, FileSystemSaver, MemorySaver, MEMORY_SAVE_LIMIT, openOfferSink, pickSaver, planTar, writeTar,
};
`;

/** Runs in the page: the globals it uses are the browser's. */
type PageGlobals = any;

const skip = chromiumSkipReason();

describe.skipIf(skip !== undefined)('savers in headless Chromium', () => {
  let chromium: Chromium;
  let server: StaticServer;
  let page: Page;

  beforeAll(async () => {
    const [app, worker] = await Promise.all([bundle(PAGE_ENTRY), bundle(`import './packages/web/src/sw.ts';`)]);
    const html =
      '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="/app.js"></script>';
    server = await serveStatic({
      '/': { type: 'text/html; charset=utf-8', body: html },
      '/app.js': { type: 'text/javascript; charset=utf-8', body: app },
      '/sw.js': { type: 'text/javascript; charset=utf-8', body: worker },
    });
    chromium = await launchChromium();
    page = await chromium.context.newPage();
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => (globalThis as PageGlobals).portunus !== undefined);
    await page.evaluate(`globalThis.fillChunk = ${fillChunk.toString()}`);
  });

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
  });

  it('streams 64 MiB through the service worker as a download with exact bytes and the UTF-8 name', async () => {
    const chunks = 64;
    const name = 'größe "64" MiB.bin';
    const downloaded = page.waitForEvent('download');
    const written = page.evaluate(
      async ({ name, chunks, size }) => {
        const g = globalThis as PageGlobals;
        const saver = await g.portunus.DownloadSaver.register('/sw.js', g.navigator.serviceWorker);
        const sink = await saver.open(name, size);
        // One buffer, refilled for every chunk: the page never holds more than a chunk of the download.
        const buf = new Uint8Array(1024 * 1024);
        for (let k = 0; k < chunks; k++) await sink.write(g.fillChunk(buf, k));
        return sink.commit();
      },
      { name, chunks, size: chunks * CHUNK },
    );
    const download = await downloaded;
    expect(await written).toBe(name);
    // filename* carried the UTF-8 name; Chromium itself replaces the quotes, which Windows forbids in file names.
    expect(download.suggestedFilename()).toBe('größe _64_ MiB.bin');
    const path = await download.path();
    const bytes = await readFile(path);
    expect(bytes.length).toBe(chunks * CHUNK);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(expectedSha256(chunks));
  });

  it("saves a folder's tar as a zip download that unzip lists and zipfile checks", async () => {
    const body = new Uint8Array(300_000).map((_, i) => (i * 13) & 0xff);
    const tar = await buildTar([
      { header: { name: 'photos/', type: 'directory' } },
      { header: { name: 'photos/ünï.txt' }, body: 'unicode' },
      { header: { name: 'photos/sub/big.bin' }, body },
    ]);
    const offer = { kind: 'folder', name: 'photos', size: tar.length, files: 2, bytes: 7 + body.length };
    const downloaded = page.waitForEvent('download');
    await page.evaluate(
      async ({ offer, tar }) => {
        const g = globalThis as PageGlobals;
        const saver = await g.portunus.DownloadSaver.register('/sw.js', g.navigator.serviceWorker);
        const sink = await g.portunus.openOfferSink(saver, offer);
        const bytes = Uint8Array.from(atob(tar), (c) => c.charCodeAt(0));
        for (let at = 0; at < bytes.length; at += 64 * 1024) await sink.write(bytes.subarray(at, at + 64 * 1024));
        return sink.commit();
      },
      { offer, tar: Buffer.from(tar).toString('base64') },
    );
    const download = await downloaded;
    expect(download.suggestedFilename()).toBe('photos.zip');
    const path = await download.path();
    expect(unzipList(path).names).toEqual(['photos/', 'photos/ünï.txt', 'photos/sub/big.bin']);
    const report = readZip(path);
    expect(report.bad).toBeNull();
    expect(report.entries.at(-1)?.sha256).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('rejects the next write with CANCELLED when the user cancels the download in the browser', async () => {
    const downloaded = page.waitForEvent('download');
    const writing = page.evaluate(async () => {
      const g = globalThis as PageGlobals;
      const saver = await g.portunus.DownloadSaver.register('/sw.js', g.navigator.serviceWorker);
      const sink = await saver.open('cancelled.bin', undefined);
      const buf = new Uint8Array(64 * 1024);
      try {
        // Far more than the browser buffers: the writes stop when the download does.
        for (let k = 0; k < 1 << 20; k++) await sink.write(buf);
        return 'wrote everything';
      } catch (err) {
        return `${(err as PageGlobals).code}: ${(err as PageGlobals).message}`;
      }
    });
    const download = await downloaded;
    await download.cancel();
    expect(await writing).toBe('CANCELLED: the download was cancelled in the browser');
    expect(await download.failure()).toBe('canceled');
  });

  it('fails the download when the page aborts it', async () => {
    const downloaded = page.waitForEvent('download');
    await page.evaluate(async () => {
      const g = globalThis as PageGlobals;
      const saver = await g.portunus.DownloadSaver.register('/sw.js', g.navigator.serviceWorker);
      g.abortedSink = await saver.open('aborted.bin', 4 * 1024 * 1024);
      await g.abortedSink.write(new Uint8Array(1024 * 1024));
    });
    // The browser reads the first chunk while it still decides whether the response is a download: an abort then
    // fails the navigation and no download starts (CI saw it on a loaded machine). This test is about one already
    // started, so it aborts once the browser has shown the download.
    const download = await downloaded;
    await page.evaluate(() => (globalThis as PageGlobals).abortedSink.abort());
    expect(await download.failure()).not.toBeNull();
  });

  it('writes through the File System Access API to an origin-private file, and abort keeps the old content', async () => {
    const chunks = 8;
    const result = await page.evaluate(
      async ({ chunks }) => {
        const g = globalThis as PageGlobals;
        const dir = await g.navigator.storage.getDirectory();
        const saver = new g.portunus.FileSystemSaver((name: string) => dir.getFileHandle(name, { create: true }));
        const buf = new Uint8Array(1024 * 1024);
        const sink = await saver.open('opfs.bin', chunks * buf.length);
        for (let k = 0; k < chunks; k++) await sink.write(g.fillChunk(buf, k));
        const savedAs = await sink.commit();
        const file = await (await dir.getFileHandle('opfs.bin')).getFile();
        const digest = new Uint8Array(await g.crypto.subtle.digest('SHA-256', await file.arrayBuffer()));

        const old = await (await dir.getFileHandle('keep.txt', { create: true })).createWritable();
        await old.write(new TextEncoder().encode('old content'));
        await old.close();
        const aborted = await saver.open('keep.txt', 3);
        await aborted.write(new TextEncoder().encode('new'));
        await aborted.abort();
        const kept = await (await (await dir.getFileHandle('keep.txt')).getFile()).text();
        return {
          savedAs,
          size: file.size,
          sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''),
          kept,
        };
      },
      { chunks },
    );
    expect(result).toEqual({
      savedAs: 'opfs.bin',
      size: chunks * CHUNK,
      sha256: expectedSha256(chunks),
      kept: 'old content',
    });
  });

  it('packs picked Files (File.stream()) into the tar of a folder offer, exactly its offered size', async () => {
    const { offer, tar } = await page.evaluate(async () => {
      const g = globalThis as PageGlobals;
      const files = [
        new File(['second'], 'b.txt', { lastModified: 1_700_000_000_000 }),
        new File([new Uint8Array(100_000).fill(7)], 'ä big.bin'),
        new File([], 'empty'),
      ];
      const inputs = files.map((f) => ({
        path: f.name,
        size: f.size,
        mtime: f.lastModified / 1000,
        stream: () => f.stream(),
      }));
      const plan = g.portunus.planTar('picked', inputs);
      const parts: Uint8Array[] = [];
      for await (const piece of g.portunus.writeTar(plan)) parts.push(piece.slice());
      const tar = new Uint8Array(await new Blob(parts).arrayBuffer());
      let binary = '';
      for (const byte of tar) binary += String.fromCharCode(byte);
      return { offer: plan.offer, tar: btoa(binary) };
    });
    const bytes = Buffer.from(tar, 'base64');
    expect(offer).toEqual({ kind: 'folder', name: 'picked', size: bytes.length, files: 3, bytes: 100_006 });
    const path = join(await mkdtemp(join(tmpdir(), 'portunus-picked-')), 'picked.tar');
    await writeFile(path, bytes);
    const listing = execFileSync('tar', ['-tvf', path], { env: { ...process.env, TZ: 'UTC' } })
      .toString('utf8')
      .trimEnd()
      .split('\n');
    expect(listing.map((line) => line.split(/\s+/).slice(2).join(' '))).toEqual([
      expect.stringMatching(/^0 .* picked\/$/),
      expect.stringMatching(/^6 2023-11-14 22:13 picked\/b\.txt$/),
      expect.stringMatching(/^0 .* picked\/empty$/),
      expect.stringMatching(/^100000 .* picked\/ä big\.bin$/),
    ]);
    await rm(dirname(path), { recursive: true });
  });

  it('picks the File System Access API where the browser has it, else the service-worker download', async () => {
    const kinds = await page.evaluate(async () => {
      const g = globalThis as PageGlobals;
      const withPicker = (await g.portunus.pickSaver(g)).kind;
      // The same window as Firefox or Safari would present it: no save dialog, but a secure context.
      const withoutPicker = { isSecureContext: g.isSecureContext, navigator: g.navigator };
      return [withPicker, (await g.portunus.pickSaver(withoutPicker)).kind];
    });
    expect(kinds).toEqual(['file-system', 'download']);
  });

  it('keeps a small transfer in memory, and refuses one beyond the limit with the message', async () => {
    const result = await page.evaluate(async () => {
      const g = globalThis as PageGlobals;
      const error = async (run: () => Promise<unknown>) => {
        try {
          await run();
          return 'no error';
        } catch (err) {
          const e = err as PageGlobals;
          return `${e.code}: ${e.message} / ${e.hint}`;
        }
      };
      const big = await error(() => new g.portunus.MemorySaver().open('big.bin', g.portunus.MEMORY_SAVE_LIMIT + 1));
      const small = new g.portunus.MemorySaver(1000);
      const growing = await small.open('stream.bin', undefined);
      await growing.write(new Uint8Array(1000));
      const beyond = await error(() => growing.write(new Uint8Array(1)));
      const sink = await new g.portunus.MemorySaver().open('ok.txt', 5);
      await sink.write(new TextEncoder().encode('hel'));
      await sink.write(new TextEncoder().encode('lo'));
      const url = await sink.commit();
      return { big, beyond, text: await (await fetch(url)).text(), blobUrl: url.startsWith('blob:') };
    });
    expect(result.big).toMatch(/^DISK_FULL: this page can keep at most 512 MiB in memory, and this is 512 MiB/);
    expect(result.big).toMatch(/Open the page over https/);
    expect(result.beyond).toMatch(/^DISK_FULL: this page can keep at most 0 MiB in memory/);
    expect(result).toMatchObject({ text: 'hello', blobUrl: true });
  });
});
