/**
 * page → page: two browser contexts (two people, nothing shared but the relay) on the page a real relay process
 * serves; a file picked in one arrives in the other, and a message too. SHA-256 of the download compared here.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, openPage, pageProblems, phoneContext, usePageWorld, waitState } from './page-harness.js';
import type { FileChooser } from 'playwright-core';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe.skipIf(chromiumSkipReason() !== undefined)('page → page', () => {
  const world = usePageWorld({ beforeAll, afterAll });

  it('a file from one browser context to another, typed code, SHA-256 of the download equal', async () => {
    const content = randomBytes(5_000_000);
    await writeFile(join(world.tmp, 'notes.pdf'), content);
    const [one, two] = await Promise.all([phoneContext(world.browser), phoneContext(world.browser)]);
    try {
      const sender = await openPage(one, `${world.relay.origin}/`);
      await sender.locator('#files').setInputFiles(join(world.tmp, 'notes.pdf'));
      await sender.locator('#send-form button[type="submit"]').click();
      await waitState(sender, 'code');
      const code = (await sender.locator('#code-text').textContent())!;
      const receiver = await openPage(two, `${world.relay.origin}/`);
      // Keyboard only: the code typed into its field, Enter submits.
      await receiver.locator('#code').fill(code.toLowerCase());
      await receiver.locator('#code').press('Enter');
      await waitState(receiver, 'offer');
      const [download] = await Promise.all([
        receiver.waitForEvent('download'),
        receiver.keyboard.press('Enter'), // Accept has the focus
      ]);
      await Promise.all([waitState(receiver, 'done'), waitState(sender, 'done')]);
      expect(sha256(await readFile(await download.path()))).toBe(sha256(content));
      expect([...pageProblems(sender), ...pageProblems(receiver)]).toEqual([]);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('a message, shown as text (never as markup) on the other side', async () => {
    const text = 'Meet at <b>noon</b> & bring the key 🔑';
    const [one, two] = await Promise.all([phoneContext(world.browser), phoneContext(world.browser)]);
    try {
      const sender = await openPage(one, `${world.relay.origin}/`);
      await sender.locator('#text').fill(text);
      await sender.locator('#send-form button[type="submit"]').click();
      await waitState(sender, 'code');
      const link = (await sender.locator('#code-link').textContent())!;
      const receiver = await openPage(two, link, 'done');
      expect(await receiver.locator('#received-text').textContent()).toBe(text);
      expect(await receiver.locator('#received-text b').count()).toBe(0);
      await waitState(sender, 'done');
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('works with the keyboard alone: Tab goes picker, message, Send, code, Receive; Enter opens the picker', async () => {
    const context = await phoneContext(world.browser);
    try {
      const page = await openPage(context, `${world.relay.origin}/`);
      // Listen for the chooser before any key is pressed: Playwright turns on Chromium's file-chooser interception
      // when the first listener is added, without waiting for it, so a listener added together with the key press
      // can miss a chooser that opens first (seen under load).
      const chooserOpened = new Promise<FileChooser>((resolve) => page.once('filechooser', resolve));
      await page.evaluate(() => 0); // one round trip, so the interception is on before the first key
      const order: string[] = [];
      for (let i = 0; i < 5; i++) {
        await page.keyboard.press('Tab');
        order.push(
          await page.evaluate(() => {
            const el = (globalThis as unknown as { document: { activeElement: { id: string; textContent: string } } })
              .document.activeElement;
            return el.id || el.textContent.trim();
          }),
        );
      }
      expect(order).toEqual(['files', 'text', 'Send', 'code', 'Receive']);
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Shift+Tab'); // back on the picker
      expect(
        await page.evaluate(
          () =>
            (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement
              ?.id,
        ),
      ).toBe('files');
      await page.keyboard.press('Enter');
      const chooser = await chooserOpened;
      expect(chooser.isMultiple()).toBe(true);
    } finally {
      await context.close();
    }
  });
});
