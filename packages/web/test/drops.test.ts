/**
 * Drops and the page (PROTOCOL.md §11): a real `portunus relay --storage DIR` process serving the built page, headless
 * Chromium and real CLI processes on 127.0.0.1. `send --drop` → the page opens the printed link and saves the drop
 * (SHA-256 of the download), a folder as one zip; the page drops a file → `receive` gets it (SHA-256); a used-up drop is
 * refused by the page with DROP_GONE's text; a download or an upload cut by the network goes on (the lease; tus HEAD);
 * a flipped stored byte is CORRUPT and the download is failed, not kept.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { exitOf, runPortunus, startRelayProcess, tempDir, type RelayProc } from '../../../cli/test/e2e/harness.js';
import {
  chromiumSkipReason,
  launchBrowser,
  openPage,
  PAGE_DIR,
  pageProblems,
  phoneContext,
  screenshot,
  STATE_MS,
  waitState,
} from './page-harness.js';
import { readZip } from './archive/zip-check.js';

const MB = 1_000_000;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe.skipIf(chromiumSkipReason() !== undefined)('drops and the page', () => {
  let relay: RelayProc;
  let origin: string;
  let browser: Browser;
  let tmp: { path: string; cleanup(): Promise<void> };
  let storage: string;
  let cases = 0;

  beforeAll(async () => {
    tmp = await tempDir('portunus-page-drop-');
    storage = join(tmp.path, 'storage');
    await mkdir(storage);
    [relay, browser] = await Promise.all([
      startRelayProcess(['--page-dir', PAGE_DIR, '--storage', storage]),
      launchBrowser(),
    ]);
    origin = new URL(relay.url).origin.replace(/^ws/, 'http');
  });

  afterAll(async () => {
    await browser?.close();
    await relay?.stop();
    await tmp?.cleanup();
  });

  /** A folder with `name` holding `size` random bytes; the CLI's state folder beside it. */
  async function makeCase(size: number, name = 'data.bin') {
    const dir = join(tmp.path, `case${cases++}`);
    const src = join(dir, 'src');
    await mkdir(join(src, name, '..'), { recursive: true });
    const content = randomBytes(size);
    await writeFile(join(src, name), content);
    return { dir, src, content, env: { XDG_STATE_HOME: join(dir, 'state') } };
  }

  /** `send --drop` of the case's file: the drop's code and link, once the sender exited 0. */
  async function cliDrop(c: Awaited<ReturnType<typeof makeCase>>): Promise<{ code: string; url: string }> {
    const sender = runPortunus(['send', '--json', '--drop', '--relay', relay.url, 'data.bin'], {
      cwd: c.src,
      env: c.env,
    });
    expect(await exitOf(sender, STATE_MS), sender.stderr()).toBe(0);
    const done = sender.events().find((e) => e.event === 'done') as { drop: { code: string; url: string } };
    return done.drop;
  }

  it('send --drop prints a link; the page opens it, shows the offer and saves the drop (SHA-256); a second open is DROP_GONE', async () => {
    const c = await makeCase(20 * MB);
    const { code, url } = await cliDrop(c);
    expect(url).toBe(`${origin}/#${code}`);
    const context = await phoneContext(browser);
    try {
      const page = await openPage(context, url, 'offer');
      expect(new URL(page.url()).hash).toBe('');
      expect(await page.locator('#offer-name').textContent()).toBe('data.bin');
      expect(await page.locator('#offer-drop').textContent()).toBe(
        'Stored on the relay: this is its last download, so it is deleted even if you decline.',
      );
      await screenshot(page, 'drop-offer');
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#accept').click()]);
      expect(download.suggestedFilename()).toBe('data.bin');
      await waitState(page, 'done');
      expect(await page.locator('#done-text').textContent()).toContain('every stored record checked out');
      const received = await readFile(await download.path());
      expect(sha256(received)).toBe(sha256(c.content));
      expect(pageProblems(page)).toEqual([]);

      // The one download is used: the relay refuses the next, and the page says so.
      const again = await openPage(context, url, 'error');
      expect(await again.locator('#app').getAttribute('data-error')).toBe('DROP_GONE');
      expect(await again.locator('#error-hint').textContent()).toContain('downloads are used up');
    } finally {
      await context.close();
    }
  });

  it('a folder dropped by the CLI is saved by the page as one zip with the same files (SHA-256 each)', async () => {
    const c = await makeCase(2 * MB, 'holiday/a.bin');
    const b = randomBytes(300_000);
    await writeFile(join(c.src, 'holiday', 'notes.txt'), b);
    const sender = runPortunus(['send', '--json', '--drop', '--relay', relay.url, 'holiday'], {
      cwd: c.src,
      env: c.env,
    });
    expect(await exitOf(sender, STATE_MS), sender.stderr()).toBe(0);
    const { url } = (sender.events().find((e) => e.event === 'done') as { drop: { url: string } }).drop;
    const context = await phoneContext(browser);
    try {
      const page = await openPage(context, url, 'offer');
      expect(await page.locator('#offer-detail').textContent()).toMatch(/^a folder, 2 files/);
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#accept').click()]);
      expect(download.suggestedFilename()).toBe('holiday.zip');
      await waitState(page, 'done');
      const zip = readZip(await download.path());
      expect(zip.bad).toBeNull();
      const files = Object.fromEntries(zip.entries.filter((e) => e.sha256 !== null).map((e) => [e.name, e.sha256]));
      expect(files).toEqual({ 'holiday/a.bin': sha256(c.content), 'holiday/notes.txt': sha256(b) });
    } finally {
      await context.close();
    }
  });

  it('the page drops a file (two downloads, one hour); portunus receive gets it by code, then by link (SHA-256)', async () => {
    const c = await makeCase(9 * MB, 'picked.bin');
    const context = await phoneContext(browser);
    try {
      const page = await openPage(context, origin);
      await page.locator('#drop-choice').waitFor({ state: 'visible', timeout: STATE_MS });
      await page.locator('#files').setInputFiles(join(c.src, 'picked.bin'));
      await page.locator('#drop-later').check();
      await page.locator('#drop-expire').selectOption('3600');
      await page.locator('#drop-downloads').selectOption('2');
      await screenshot(page, 'drop-choice');
      await page.locator('#send-form button[type="submit"]').click();
      await waitState(page, 'dropped');
      await screenshot(page, 'dropped');
      const code = (await page.locator('#dropped-code').textContent())!;
      expect(code).toMatch(/^D-(?:[0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}$/);
      expect(await page.locator('#dropped-link').getAttribute('href')).toBe(`${origin}/#${code}`);
      expect(await page.locator('#dropped-expiry').textContent()).toContain('or for 2 downloads');
      expect(pageProblems(page)).toEqual([]);
      for (const run of [1, 2]) {
        const dst = join(c.dir, `dst${run}`);
        await mkdir(dst);
        // The first by code and relay, the second by the page's link, which names the relay.
        const what = run === 1 ? ['--relay', relay.url, code] : [`${origin}/#${code}`];
        const receiver = runPortunus(['receive', '--json', '--yes', ...what], {
          cwd: dst,
          env: c.env,
        });
        expect(await exitOf(receiver, STATE_MS), receiver.stderr()).toBe(0);
        expect(sha256(await readFile(join(dst, 'picked.bin')))).toBe(sha256(c.content));
        const offer = receiver.events().find((e) => e.event === 'offer') as { drop: { downloadsLeft: number } };
        expect(offer.drop.downloadsLeft).toBe(2 - run);
      }
    } finally {
      await context.close();
    }
  });

  it('a download cut mid-body continues on its lease: the page saves it whole, and only one download was used', async () => {
    const c = await makeCase(60 * MB);
    const sender = runPortunus(['send', '--json', '--drop', '--downloads', '2', '--relay', relay.url, 'data.bin'], {
      cwd: c.src,
      env: c.env,
    });
    expect(await exitOf(sender, STATE_MS), sender.stderr()).toBe(0);
    const { code } = (sender.events().find((e) => e.event === 'done') as { drop: { code: string } }).drop;
    // The page reaches the relay through a proxy that the test cuts (the network's fault, not the relay's).
    const proxy = await cuttingProxy(Number(new URL(relay.url).port));
    const context = await phoneContext(browser);
    try {
      const page = await openPage(context, `http://127.0.0.1:${proxy.port}/#${code}`, 'offer');
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#accept').click()]);
      // <progress>'s value reflects to its attribute; the page's CSP rules out evaluating strings in it.
      const fraction = async () => Number((await page.locator('#bar').getAttribute('value')) ?? 0);
      await expect.poll(fraction, { timeout: STATE_MS, interval: 50 }).toBeGreaterThan(0.2);
      proxy.cut();
      const before = proxy.connections();
      await waitState(page, 'done');
      // The rest came on a new connection (the Range request on the lease).
      expect(proxy.connections()).toBeGreaterThan(before);
      expect(sha256(await readFile(await download.path()))).toBe(sha256(c.content));
      const second = runPortunus(['receive', '--json', '--yes', '--relay', relay.url, code], {
        cwd: c.dir,
        env: c.env,
      });
      expect(await exitOf(second, STATE_MS), second.stderr()).toBe(0);
      const offer = second.events().find((e) => e.event === 'offer') as { drop: { downloadsLeft: number } };
      expect(offer.drop.downloadsLeft).toBe(0);
    } finally {
      await context.close();
      await proxy.close();
    }
  });

  it('an upload cut by the network (the relay holding 6 MB of it) goes on from what the relay holds; the drop arrives whole (SHA-256)', async () => {
    const c = await makeCase(40 * MB, 'big.bin');
    const proxy = await cuttingProxy(Number(new URL(relay.url).port));
    const context = await phoneContext(browser);
    try {
      const page = await openPage(context, `http://127.0.0.1:${proxy.port}/`);
      await page.locator('#drop-choice').waitFor({ state: 'visible', timeout: STATE_MS });
      await page.locator('#files').setInputFiles(join(c.src, 'big.bin'));
      await page.locator('#drop-later').check();
      const before = new Set(await storedFiles(storage));
      await page.locator('#send-form button[type="submit"]').click();
      // Cut once the relay holds more than 6 MB of this upload (a PATCH under way, or the connection between two).
      await expect
        .poll(
          async () => {
            const mine = (await storedFiles(storage)).filter((f) => !before.has(f));
            const sizes = await Promise.all(mine.map(async (f) => (await stat(f).catch(() => ({ size: 0 }))).size));
            return Math.max(0, ...sizes);
          },
          { timeout: STATE_MS, interval: 20 },
        )
        .toBeGreaterThan(6 * MB);
      proxy.cut();
      const connections = proxy.connections();
      await waitState(page, 'dropped');
      expect(proxy.connections()).toBeGreaterThan(connections);
      const code = (await page.locator('#dropped-code').textContent())!;
      const dst = join(c.dir, 'dst');
      await mkdir(dst);
      const receiver = runPortunus(['receive', '--json', '--yes', '--relay', relay.url, code], {
        cwd: dst,
        env: c.env,
      });
      expect(await exitOf(receiver, STATE_MS), receiver.stderr()).toBe(0);
      expect(sha256(await readFile(join(dst, 'big.bin')))).toBe(sha256(c.content));
    } finally {
      await context.close();
      await proxy.close();
    }
  });

  it('a flipped stored byte: the page fails CORRUPT and the download is failed, not kept', async () => {
    const c = await makeCase(3 * MB);
    const before = new Set(await storedFiles(storage));
    const { url } = await cliDrop(c);
    const added = (await storedFiles(storage)).filter((f) => !before.has(f));
    const stored = (await Promise.all(added.map(async (f) => ({ f, size: (await stat(f)).size })))).find(
      (x) => x.size > 3 * MB,
    )!;
    const handle = await open(stored.f, 'r+');
    try {
      const at = stored.size - 1000;
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, at);
      await handle.write(Buffer.from([byte[0]! ^ 0x40]), 0, 1, at);
    } finally {
      await handle.close();
    }
    const context = await phoneContext(browser);
    try {
      const page = await openPage(context, url, 'offer');
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#accept').click()]);
      await waitState(page, 'error');
      expect(await page.locator('#app').getAttribute('data-error')).toBe('CORRUPT');
      expect(await download.failure()).not.toBeNull();
    } finally {
      await context.close();
    }
  });
});

async function storedFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true });
  const files: string[] = [];
  for (const name of names) if ((await stat(join(dir, name))).isFile()) files.push(join(dir, name));
  return files;
}

/**
 * A TCP proxy in front of the relay that moves bytes with backpressure, as a network does (the relay writes only
 * as fast as the page reads), and whose open connections the test cuts at once; later connections go through.
 */
async function cuttingProxy(
  port: number,
): Promise<{ port: number; cut(): void; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((client) => {
    connections += 1;
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => (sockets.delete(s), client.destroy(), upstream.destroy()));
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    port: (server.address() as AddressInfo).port,
    cut,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => (cut(), server.close(() => resolve()))),
  };
}
