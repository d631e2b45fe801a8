/**
 * The page served by a LAN-mode sender's built-in relay, in a context that is not secure: plain http on a LAN
 * address (198.18.5.1, inside network namespaces this test creates: test/lab/lan.ts). There the browser has no
 * crypto.subtle and no service worker, so the page must run on @noble's AES-GCM and keep the file in memory; the
 * person follows the sender's link and saves the file from the page. Chromium runs inside host b through a
 * wrapper command (playwright talks to it over pipes, which cross namespaces).
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, tempDir } from '../../../cli/test/e2e/harness.js';
import { labSkipReason, lanLabUp, type LanLab } from '../../../test/lab/lan.js';
import { CHROMIUM_ARGS, chromiumSkipReason, openPage, STATE_MS, waitState } from './page-harness.js';
import { CHROMIUM_PATH } from '../../../test/browser/chromium.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const skip = labSkipReason() ?? chromiumSkipReason();

describe.skipIf(skip !== undefined)('the page of a LAN-mode sender, over plain http on a LAN address', () => {
  let lab: LanLab;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let browser: Browser;
  beforeAll(async () => {
    lab = lanLabUp();
    tmp = await tempDir('portunus-page-lan-');
    const wrapper = join(tmp.path, 'chromium-in-b');
    await writeFile(wrapper, `#!/bin/sh\nexec ${lab.b.prefix.join(' ')} ${CHROMIUM_PATH} "$@"\n`);
    await chmod(wrapper, 0o755);
    browser = await chromium.launch({ executablePath: wrapper, headless: true, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    lab?.down();
    await tmp?.cleanup();
  });

  it('is not a secure context, runs on @noble and memory, and receives the file intact', async () => {
    const [src, config] = [join(tmp.path, 'src'), join(tmp.path, 'config')];
    for (const d of [src, config]) await mkdir(d, { recursive: true });
    const content = randomBytes(3_000_000);
    await writeFile(join(src, 'scan.pdf'), content);
    const sender = runPortunus(['send', '--json', 'scan.pdf'], {
      cwd: src,
      env: { XDG_CONFIG_HOME: config },
      prefix: lab.a.prefix,
    });
    const event = await sender.waitEvent('code');
    expect(event.mode).toBe('lan');
    const url = String(event.url);
    expect(url).toBe(`http://${lab.a.address}:${new URL(url).port}/#${String(event.code)}`);
    const context = await browser.newContext({ acceptDownloads: true });
    try {
      const page = await openPage(context, url, 'offer');
      const page_context = await page.evaluate(() => {
        const g = globalThis as unknown as { isSecureContext: boolean; crypto: { subtle?: object }; navigator: object };
        return { secure: g.isSecureContext, subtle: g.crypto.subtle !== undefined, sw: 'serviceWorker' in g.navigator };
      });
      expect(page_context).toEqual({ secure: false, subtle: false, sw: false });
      await page.locator('#accept').click();
      await waitState(page, 'done');
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#save').click()]);
      expect(download.suggestedFilename()).toBe('scan.pdf');
      expect(sha256(await readFile(await download.path()))).toBe(sha256(content));
      expect(await exitOf(sender, STATE_MS)).toBe(0);
    } finally {
      await context.close();
    }
  });
});
