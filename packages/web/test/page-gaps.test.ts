/**
 * What issue 14 asks of the page beyond the plain transfers, each with real relay and CLI processes:
 *
 * - the secret never reaches the relay: the page is loaded through a recording TCP proxy (its WebSocket goes through
 *   it too), and nothing the page sent, HTTP requests included, holds the code or its secret in any spelling;
 * - drag and drop onto the page's drop target sends the dropped file;
 * - a lost connection (the CLI peer killed, or the relay) ends in the page's error state at once, not at a timeout.
 *
 * Faults come from the harness only: a recording proxy, SIGKILL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { type Code, formatCode, normalizeCode, parseCode, PortunusError } from '@portunus/protocol';
import { exitOf, runPortunus, type Proc } from '../../../cli/test/e2e/harness.js';
import { TcpProxy } from '../../../cli/test/e2e/faults.js';
import { findSpellings, readableBytes } from './client-bytes.js';
import {
  chromiumSkipReason,
  openPage,
  pageProblems,
  phoneContext,
  startPageRelay,
  STATE_MS,
  usePageWorld,
  waitState,
} from './page-harness.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Every spelling of the code a leak could take: whole, normalized, and the secret alone, grouped or not. */
function secretForms(code: Code): string[] {
  const shown = formatCode(code);
  return [shown, normalizeCode(code), code.secret, shown.slice(shown.indexOf('-') + 1)];
}

/** The code the page shows, parsed. */
async function shownCode(page: Page): Promise<Code> {
  const code = parseCode((await page.locator('#code-text').textContent()) ?? '');
  if (code instanceof PortunusError) throw code;
  return code;
}

/** Sends the file picked in `page` and returns its code. */
async function sendPicked(page: Page, path: string): Promise<Code> {
  await page.locator('#files').setInputFiles(path);
  await page.locator('#send-form button[type="submit"]').click();
  await waitState(page, 'code');
  return shownCode(page);
}

/** What the recording proxy's clients sent, one readable buffer per connection (client-bytes.ts). */
function sentThrough(proxy: TcpProxy): Buffer[] {
  return proxy.sent.map((chunks) => readableBytes(Buffer.concat(chunks)));
}

/**
 * Feeds a CLI's standard input with `block` over and over, as fast as the pipe takes it (its 'drain' event, no
 * timer), until finish(): then ends the input and says what was written.
 */
function pump(stdin: Writable, block: Buffer): { finish(): { bytes: number; sha256: string } } {
  const hash = createHash('sha256');
  let bytes = 0;
  let stopped = false;
  const write = (): void => {
    while (!stopped) {
      hash.update(block);
      bytes += block.length;
      if (!stdin.write(block)) return void stdin.once('drain', write);
    }
  };
  stdin.on('error', () => undefined); // a sender that failed exits before reading it all
  write();
  return {
    finish() {
      stopped = true;
      stdin.end();
      return { bytes, sha256: hash.digest('hex') };
    },
  };
}

describe.skipIf(chromiumSkipReason() !== undefined)('the page beyond the plain transfers', () => {
  const world = usePageWorld({ beforeAll, afterAll });

  async function withContext(run: (context: BrowserContext) => Promise<void>): Promise<void> {
    const context = await phoneContext(world.browser);
    try {
      await run(context);
    } finally {
      await context.close();
    }
  }

  /** A recording proxy in front of the world's relay, closed after `run`. */
  async function throughProxy(run: (proxy: TcpProxy, origin: string) => Promise<void>): Promise<void> {
    const proxy = await TcpProxy.start(Number(new URL(world.relay.origin).port), { record: true });
    try {
      await run(proxy, `http://127.0.0.1:${proxy.port}`);
    } finally {
      await proxy.close();
    }
  }

  describe('the secret never reaches the relay', () => {
    it('page → CLI, the page loaded through a recording proxy: no byte it sent holds the code or its secret', async () => {
      const dir = join(world.tmp, 'secret-page-to-cli');
      await mkdir(join(dir, 'dst'), { recursive: true });
      const content = randomBytes(2_000_000);
      await writeFile(join(dir, 'ledger.bin'), content);
      await throughProxy(async (proxy, origin) => {
        let code!: Code;
        await withContext(async (context) => {
          const page = await openPage(context, `${origin}/`);
          code = await sendPicked(page, join(dir, 'ledger.bin'));
          expect(await page.locator('#code-link').textContent()).toBe(`${origin}/#${formatCode(code)}`);
          // The CLI meets the page at the relay itself, not through the proxy: the proxy sees the page alone. All the
          // data goes through the relay, so the page's WebSocket carries every sealed frame.
          const receiver = runPortunus(
            ['receive', '--json', '--yes', '--transport', 'relay', '--relay', world.relay.url, formatCode(code)],
            { cwd: join(dir, 'dst') },
          );
          await waitState(page, 'done');
          expect(await exitOf(receiver, STATE_MS)).toBe(0);
          expect(sha256(await readFile(join(dir, 'dst', 'ledger.bin')))).toBe(sha256(content));
        });
        const sent = sentThrough(proxy);
        // The recording is the page's whole conversation, readable: its page load, its hello, every data frame.
        const all = Buffer.concat(sent);
        expect(all.includes('GET / HTTP/1.1')).toBe(true);
        expect(all.includes('"agent":"portunus-web/')).toBe(true);
        expect(all.length).toBeGreaterThan(content.length);
        for (const bytes of sent) expect(findSpellings(bytes, secretForms(code))).toEqual([]);
      });
    });

    it('page → page, the receiver opened with /#CODE: the nameplate goes to the relay, the secret does not', async () => {
      const content = randomBytes(1_000_000);
      await writeFile(join(world.tmp, 'secret-page-to-page.bin'), content);
      await throughProxy(async (proxy, origin) => {
        let code!: Code;
        const [one, two] = await Promise.all([phoneContext(world.browser), phoneContext(world.browser)]);
        try {
          const sender = await openPage(one, `${origin}/`);
          code = await sendPicked(sender, join(world.tmp, 'secret-page-to-page.bin'));
          const receiver = await openPage(two, `${origin}/#${formatCode(code)}`, 'offer');
          const [download] = await Promise.all([
            receiver.waitForEvent('download'),
            receiver.locator('#accept').click(),
          ]);
          await Promise.all([waitState(receiver, 'done'), waitState(sender, 'done')]);
          expect(sha256(await readFile(await download.path()))).toBe(sha256(content));
          expect([...pageProblems(sender), ...pageProblems(receiver)]).toEqual([]);
        } finally {
          await Promise.all([one.close(), two.close()]);
        }
        const sent = sentThrough(proxy);
        // The receiver claimed the nameplate: the one part of the code the relay must learn.
        const claim = `{"type":"claim","nameplate":${code.nameplate}}`;
        expect(sent.some((bytes) => bytes.includes(claim))).toBe(true);
        for (const bytes of sent) expect(findSpellings(bytes, secretForms(code))).toEqual([]);
      });
    });
  });

  it('drag and drop: a file dropped on the drop target is sent, and portunus receive gets it intact', async () => {
    const dir = join(world.tmp, 'drop');
    await mkdir(dir, { recursive: true });
    const content = randomBytes(3_000_000);
    await withContext(async (context) => {
      const page = await openPage(context, `${world.relay.origin}/`);
      const zone = page.locator('#drop');
      // A DataTransfer made in the page, holding a File made there from the bytes: what a real drop hands over.
      const dataTransfer = await page.evaluateHandle((base64) => {
        const scope = globalThis as unknown as {
          DataTransfer: new () => { items: { add(file: unknown): void } };
          File: new (parts: unknown[], name: string, options: object) => unknown;
        };
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const transfer = new scope.DataTransfer();
        transfer.items.add(new scope.File([bytes], 'dropped.bin', { type: 'application/octet-stream' }));
        return transfer;
      }, content.toString('base64'));
      await zone.dispatchEvent('dragover', { dataTransfer });
      expect(await zone.getAttribute('class')).toContain('over');
      await zone.dispatchEvent('drop', { dataTransfer });
      expect(await zone.getAttribute('class')).not.toContain('over');
      expect(await page.locator('#drop-text').textContent()).toBe('dropped.bin');
      await page.locator('#send-form button[type="submit"]').click();
      await waitState(page, 'code');
      const code = formatCode(await shownCode(page));
      const receiver = runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url, code], { cwd: dir });
      await waitState(page, 'done');
      expect(await exitOf(receiver, STATE_MS)).toBe(0);
      expect(sha256(await readFile(join(dir, 'dropped.bin')))).toBe(sha256(content));
      expect(pageProblems(page)).toEqual([]);
    });
  });

  describe('a lost connection, as the page shows it', () => {
    /** A CLI sender of standard input over the relay, fed until the test ends; its code, and the page receiving. */
    async function receivingFrom(relayUrl: string, origin: string, context: BrowserContext) {
      const sender = runPortunus(
        ['send', '--json', '--transport', 'relay', '--relay', relayUrl, '-', '--name', 'stream.bin'],
        { stdin: 'pipe' },
      );
      const feed = pump(sender.child.stdin!, randomBytes(1024 * 1024));
      const code = String((await sender.waitEvent('code')).code);
      const page = await openPage(context, `${origin}/#${code}`, 'offer');
      await page.locator('#accept').click();
      await waitState(page, 'progress');
      // Data is moving: the page has written some and says how much.
      await page.locator('#progress-text').filter({ hasText: /\d/ }).waitFor({ timeout: STATE_MS });
      return { sender, feed, page };
    }

    it('the CLI sender killed (SIGKILL) mid-transfer: the relay says the peer left, the page shows PEER_GONE', async () => {
      await withContext(async (context) => {
        const { sender, feed, page } = await receivingFrom(world.relay.url, world.relay.origin, context);
        sender.child.kill('SIGKILL');
        await sender.exited;
        feed.finish();
        // Well within the page's stall timeout (60 s): the relay's peer-left ends the wait at once, so the error
        // names the peer, not a stall.
        await waitState(page, 'error', 60_000);
        expect(await page.locator('#app').getAttribute('data-error')).toBe('PEER_GONE');
        expect(await page.locator('#error-message').textContent()).toBe('the other side disconnected');
        expect(await page.locator('#error-hint').textContent()).toBe(
          'The other side disconnected before the transfer finished.',
        );
        expect(await page.locator('#save').isVisible()).toBe(false);
      });
    });

    it('the relay killed (SIGKILL) mid-transfer: the page shows it lost the relay, and so does the CLI', async () => {
      const relay = await startPageRelay();
      try {
        await withContext(async (context) => {
          const { sender, feed, page } = await receivingFrom(relay.url, relay.origin, context);
          await relay.stop();
          // The page's WebSocket ends abnormally (no close frame) at once: no stall timeout is involved.
          await waitState(page, 'error', 60_000);
          feed.finish();
          expect(await page.locator('#app').getAttribute('data-error')).toBe('RELAY_UNREACHABLE');
          expect(await page.locator('#error-message').textContent()).toBe('lost the connection to the relay');
          expect(await exitOf(sender, STATE_MS)).not.toBe(0);
          expect(errorOf(sender)).toBe('RELAY_UNREACHABLE');
        });
      } finally {
        await relay.stop();
      }
    });
  });
});

function errorOf(p: Proc): unknown {
  return p.events().find((e) => e.event === 'error')?.error;
}
