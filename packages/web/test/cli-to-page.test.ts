/**
 * CLI → page: a real `portunus send` process hands a file to the page in headless Chromium through a real relay
 * process that serves the page; the page's download is hashed here and compared with what was sent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, tempDir } from '../../../cli/test/e2e/harness.js';
import {
  chromiumSkipReason,
  launchBrowser,
  openPage,
  pageProblems,
  phoneContext,
  screenshot,
  startPageRelay,
  STATE_MS,
  waitState,
} from './page-harness.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const MB = 1_000_000;

describe.skipIf(chromiumSkipReason() !== undefined)('CLI → page', () => {
  let relay: Awaited<ReturnType<typeof startPageRelay>>;
  let browser: Browser;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    [relay, browser, tmp] = await Promise.all([startPageRelay(), launchBrowser(), tempDir('portunus-page-')]);
  });
  afterAll(async () => {
    await browser?.close();
    await relay?.stop();
    await tmp?.cleanup();
  });

  it('50 MB over the relay (--transport relay): offer, Accept, progress, the download matches', async () => {
    const src = join(tmp.path, 'cli-to-page');
    await mkdir(src, { recursive: true });
    const content = randomBytes(50 * MB);
    await writeFile(join(src, 'report.bin'), content);
    const sender = runPortunus(['send', '--json', '--transport', 'relay', '--relay', relay.url, 'report.bin'], {
      cwd: src,
    });
    const code = String((await sender.waitEvent('code')).code);
    const context = await phoneContext(browser);
    try {
      const page = await openPage(context, `${relay.origin}/#${code}`, 'offer');
      // The code left the address bar as soon as the page read it.
      expect(new URL(page.url()).hash).toBe('');
      expect(await page.locator('#offer-name').textContent()).toBe('report.bin');
      expect(await page.locator('#offer-detail').textContent()).toBe('a file, 50 MB');
      await screenshot(page, 'offer');
      await page.locator('#accept').click();
      await waitState(page, 'progress');
      await page.locator('#progress-path').filter({ hasText: 'through the relay' }).waitFor({ timeout: STATE_MS });
      await screenshot(page, 'progress');
      await waitState(page, 'done');
      await screenshot(page, 'done');
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#save').click()]);
      expect(download.suggestedFilename()).toBe('report.bin');
      const received = await readFile(await download.path());
      expect(received.length).toBe(content.length);
      expect(sha256(received)).toBe(sha256(content));
      expect(await exitOf(sender, STATE_MS)).toBe(0);
      expect(sender.events().find((e) => e.event === 'done')?.transport).toBe('relay');
      expect(pageProblems(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
