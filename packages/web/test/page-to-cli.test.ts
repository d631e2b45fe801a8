/**
 * page → CLI: the page sends a picked file; a real `portunus receive` process takes it through a real relay process
 * that serves the page, over the relay (forced on the CLI) and over WebRTC (the browser's native stack against the
 * CLI's engine); the file on disk is hashed and compared with what the page was given, and the QR code the page
 * shows is read back module by module and must encode the link it shows (qr-matrix.ts).
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
import { encodedMatrix, shownMatrix } from './qr-matrix.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const MB = 1_000_000;

describe.skipIf(chromiumSkipReason() !== undefined)('page → CLI', () => {
  const world = usePageWorld({ beforeAll, afterAll });

  for (const transport of ['relay', 'webrtc'] as const) {
    it(`50 MB with --transport ${transport} on the CLI: code shown, the CLI's file matches`, async () => {
      const dir = join(world.tmp, `page-to-cli-${transport}`);
      await mkdir(join(dir, 'dst'), { recursive: true });
      const content = randomBytes(50 * MB);
      await writeFile(join(dir, 'photo.raw'), content);
      const context = await phoneContext(world.browser);
      try {
        const page = await openPage(context, `${world.relay.origin}/`);
        if (transport === 'relay') await screenshot(page, 'start');
        await page.locator('#files').setInputFiles(join(dir, 'photo.raw'));
        await page.locator('#send-form button[type="submit"]').click();
        await waitState(page, 'code');
        const code = (await page.locator('#code-text').textContent())!;
        const link = await page.locator('#code-link').textContent();
        expect(link).toBe(`${world.relay.origin}/#${code}`);
        expect(await shownMatrix(page)).toEqual(encodedMatrix(link!));
        if (transport === 'relay') await screenshot(page, 'code');
        const receiver = runPortunus(
          ['receive', '--json', '--yes', '--transport', transport, '--relay', world.relay.url, code],
          { cwd: join(dir, 'dst') },
        );
        await waitState(page, 'done');
        expect(await exitOf(receiver, STATE_MS)).toBe(0);
        expect(receiver.events().find((e) => e.event === 'done')?.transport).toBe(transport);
        const received = await readFile(join(dir, 'dst', 'photo.raw'));
        expect(sha256(received)).toBe(sha256(content));
        const via = transport === 'relay' ? 'through the relay' : 'directly (WebRTC)';
        expect(await page.locator('#done-text').textContent()).toContain(via);
        expect(pageProblems(page)).toEqual([]);
      } finally {
        await context.close();
      }
    });
  }
});
