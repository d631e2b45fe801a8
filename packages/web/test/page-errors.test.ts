/**
 * Failures between the page and the CLI, each seen from both sides: a wrong code (the page shows the CLI's own
 * words), Decline, and Cancel on either side in the middle of a transfer (a CLI sender of standard input that keeps
 * its stream open, so the transfer is under way for as long as the test needs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, type Proc } from '../../../cli/test/e2e/harness.js';
import {
  chromiumSkipReason,
  openPage,
  phoneContext,
  screenshot,
  STATE_MS,
  usePageWorld,
  waitState,
} from './page-harness.js';
import type { Page } from 'playwright-core';

const errorEvent = (p: Proc) => p.events().find((e) => e.event === 'error');

describe.skipIf(chromiumSkipReason() !== undefined)('the page and the CLI fail alike', () => {
  const world = usePageWorld({ beforeAll, afterAll });

  /** `portunus send --text`: a code to receive, nothing to stream. */
  function textSender(): Proc {
    return runPortunus(['send', '--json', '--relay', world.relay.url, '--text', 'hello']);
  }

  /** A sender of standard input with 3 MiB ready and the stream left open. */
  function streamingSender(): Proc {
    const sender = runPortunus(
      ['send', '--json', '--transport', 'relay', '--relay', world.relay.url, '-', '--name', 'stream.bin'],
      { stdin: 'pipe' },
    );
    sender.child.stdin!.on('error', () => undefined); // the sender may exit before reading it all
    sender.child.stdin!.write(Buffer.alloc(3 * 1024 * 1024, 7));
    return sender;
  }

  async function withPage(url: string, state: string, run: (page: Page) => Promise<void>): Promise<void> {
    const context = await phoneContext(world.browser);
    try {
      await run(await openPage(context, url, state));
    } finally {
      await context.close();
    }
  }

  it('a wrong code typed in the page: WRONG_CODE on both sides, the same message as the CLI prints', async () => {
    const sender = textSender();
    const code = String((await sender.waitEvent('code')).code);
    const wrong = code.replace(/-(.)/, (_, c: string) => `-${c === '2' ? '3' : '2'}`);
    await withPage(`${world.relay.origin}/`, 'start', async (page) => {
      await page.locator('#code').fill(wrong);
      await page.locator('#receive-form button[type="submit"]').click();
      await waitState(page, 'error');
      await screenshot(page, 'error');
      expect(await exitOf(sender, STATE_MS)).toBe(3);
      const cli = errorEvent(sender)!;
      expect(cli.error).toBe('WRONG_CODE');
      expect(await page.locator('#app').getAttribute('data-error')).toBe('WRONG_CODE');
      expect(await page.locator('#error-message').textContent()).toBe(cli.message);
      expect(await page.locator('#error-hint').textContent()).toBe(cli.hint);
    });
  });

  it('Decline in the page: the CLI sender hears REJECTED and exits 4', async () => {
    const sender = streamingSender();
    const code = String((await sender.waitEvent('code')).code);
    await withPage(`${world.relay.origin}/#${code}`, 'offer', async (page) => {
      expect(await page.locator('#offer-detail').textContent()).toBe('a stream of unknown length');
      await page.locator('#decline').click();
      expect(await exitOf(sender, STATE_MS)).toBe(4);
      expect(errorEvent(sender)?.error).toBe('REJECTED');
      await waitState(page, 'error');
      expect(await page.locator('#app').getAttribute('data-error')).toBe('REJECTED');
    });
  });

  it('Cancel in the page mid-transfer: the page says it cancelled, the CLI that the other side did (exit 4)', async () => {
    const sender = streamingSender();
    const code = String((await sender.waitEvent('code')).code);
    await withPage(`${world.relay.origin}/#${code}`, 'offer', async (page) => {
      await page.locator('#accept').click();
      await waitState(page, 'progress');
      await sender.waitEvent('progress', { timeoutMs: STATE_MS });
      await page.locator('section[data-view="progress"] .cancel').click();
      await waitState(page, 'error');
      expect(await page.locator('#app').getAttribute('data-error')).toBe('CANCELLED');
      expect(await page.locator('#error-message').textContent()).toBe('cancelled on this side');
      expect(await exitOf(sender, STATE_MS)).toBe(4);
      expect(errorEvent(sender)).toMatchObject({
        error: 'CANCELLED',
        message: 'the other side cancelled the transfer',
      });
    });
  });

  it('Ctrl-C on the CLI mid-transfer: the page says the other side cancelled', async () => {
    const sender = streamingSender();
    const code = String((await sender.waitEvent('code')).code);
    await withPage(`${world.relay.origin}/#${code}`, 'offer', async (page) => {
      await page.locator('#accept').click();
      await sender.waitEvent('progress', { timeoutMs: STATE_MS });
      sender.child.kill('SIGINT');
      expect(await exitOf(sender, STATE_MS)).toBe(130);
      await waitState(page, 'error');
      expect(await page.locator('#app').getAttribute('data-error')).toBe('CANCELLED');
      expect(await page.locator('#error-message').textContent()).toBe('the other side cancelled the transfer');
      expect(await page.locator('#save').isVisible()).toBe(false);
    });
  });
});
