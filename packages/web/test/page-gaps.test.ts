/**
 * What issue 14 asks of the page beyond the plain transfers, each with real relay and CLI processes:
 *
 * - the secret never reaches the relay: the page is loaded through a recording TCP proxy (its WebSocket goes through
 *   it too), and nothing the page sent, HTTP requests included, holds the code or its secret in any spelling.
 *
 * Faults come from the harness only: a recording proxy.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { type Code, formatCode, normalizeCode, parseCode, PortunusError } from '@portunus/protocol';
import { exitOf, runPortunus } from '../../../cli/test/e2e/harness.js';
import { TcpProxy } from '../../../cli/test/e2e/faults.js';
import { findSpellings, readableBytes } from './client-bytes.js';
import {
  chromiumSkipReason,
  openPage,
  pageProblems,
  phoneContext,
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
});
