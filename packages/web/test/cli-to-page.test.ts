/**
 * CLI → page: a real `portunus send` process hands a file to the page in headless Chromium through a real relay
 * process that serves the page, over the relay (forced on the CLI) and over WebRTC (the CLI's engine against the
 * browser's native stack); the page's download is hashed here and compared with what was sent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus } from '../../../cli/test/e2e/harness.js';
import {
  chromiumSkipReason,
  openPage,
  pageProblems,
  phoneContext,
  screenshot,
  STATE_MS,
  usePageWorld,
  waitState,
} from './page-harness.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const MB = 1_000_000;

describe.skipIf(chromiumSkipReason() !== undefined)('CLI → page', () => {
  const world = usePageWorld({ beforeAll, afterAll });

  for (const transport of ['relay', 'webrtc'] as const) {
    it(`50 MB with --transport ${transport} on the CLI: offer, Accept, progress, the download matches`, async () => {
      const src = join(world.tmp, `cli-to-page-${transport}`);
      await mkdir(src, { recursive: true });
      const content = randomBytes(50 * MB);
      await writeFile(join(src, 'report.bin'), content);
      const sender = runPortunus(
        ['send', '--json', '--transport', transport, '--relay', world.relay.url, 'report.bin'],
        { cwd: src },
      );
      const code = String((await sender.waitEvent('code')).code);
      const context = await phoneContext(world.browser);
      try {
        const page = await openPage(context, `${world.relay.origin}/#${code}`, 'offer');
        // The code left the address bar as soon as the page read it.
        expect(new URL(page.url()).hash).toBe('');
        expect(await page.locator('#offer-name').textContent()).toBe('report.bin');
        expect(await page.locator('#offer-detail').textContent()).toBe('a file, 50 MB');
        if (transport === 'relay') await screenshot(page, 'offer');
        // The download starts at Accept (streamed through the service worker) and completes with the transfer.
        const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#accept').click()]);
        expect(download.suggestedFilename()).toBe('report.bin');
        await waitState(page, 'progress');
        const via = transport === 'relay' ? 'through the relay' : 'directly (WebRTC)';
        await page.locator('#progress-path').filter({ hasText: via }).waitFor({ timeout: STATE_MS });
        if (transport === 'relay') await screenshot(page, 'progress');
        await waitState(page, 'done');
        if (transport === 'relay') await screenshot(page, 'done');
        expect(await page.locator('#done-text').textContent()).toContain('Saved to your downloads as report.bin');
        const received = await readFile(await download.path());
        expect(received.length).toBe(content.length);
        expect(sha256(received)).toBe(sha256(content));
        expect(await exitOf(sender, STATE_MS)).toBe(0);
        expect(sender.events().find((e) => e.event === 'done')?.transport).toBe(transport);
        expect(pageProblems(page)).toEqual([]);
      } finally {
        await context.close();
      }
    });
  }

  it('send --count 2: the page is one receiver of the code, a CLI the other, each gets the whole file', async () => {
    const src = join(world.tmp, 'cli-to-page-count');
    const dst = join(world.tmp, 'cli-to-page-count-cli');
    await mkdir(src, { recursive: true });
    await mkdir(dst, { recursive: true });
    const content = randomBytes(2 * MB);
    await writeFile(join(src, 'shared.bin'), content);
    const sender = runPortunus(['send', '--json', '--count', '2', '--relay', world.relay.url, 'shared.bin'], {
      cwd: src,
    });
    const code = String((await sender.waitEvent('code')).code);
    const receiver = runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url, code], { cwd: dst });
    const context = await phoneContext(world.browser);
    try {
      const page = await openPage(context, `${world.relay.origin}/#${code}`, 'offer');
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#accept').click()]);
      await waitState(page, 'done');
      expect(sha256(await readFile(await download.path()))).toBe(sha256(content));
      expect(await exitOf(receiver, STATE_MS)).toBe(0);
      expect(sha256(await readFile(join(dst, 'shared.bin')))).toBe(sha256(content));
      expect(await exitOf(sender, STATE_MS)).toBe(0);
      expect(sender.events().filter((e) => e.event === 'done')).toHaveLength(2);
      expect(pageProblems(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
