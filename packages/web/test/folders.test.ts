/**
 * Folders between the CLI and the page: a folder sent by `portunus send` arrives in the page as one zip whose
 * listing and bytes match (read back with Python's zipfile, as Windows and macOS would open it); several files
 * picked in the page arrive at `portunus receive` as a folder, byte for byte.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus } from '../../../cli/test/e2e/harness.js';
import { chromiumSkipReason, openPage, phoneContext, STATE_MS, usePageWorld, waitState } from './page-harness.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** name → SHA-256 of every file in a zip, read by CPython's zipfile (which checks every CRC). */
function zipListing(path: string): Record<string, string> {
  const script = [
    'import hashlib, json, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'assert z.testzip() is None',
    'print(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist() if not i.is_dir()}))',
  ].join('\n');
  const run = spawnSync('python3', ['-c', script, path], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`zipfile could not read ${path}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, string>;
}

const FILES: Record<string, Buffer> = {
  'holiday/readme.txt': Buffer.from('hello from the CLI\n'),
  'holiday/photos/beach.jpg': randomBytes(3_000_000),
  'holiday/photos/straße – ünïcode.png': randomBytes(70_000),
  'holiday/empty.txt': Buffer.alloc(0),
};

describe.skipIf(chromiumSkipReason() !== undefined)('folders between the CLI and the page', () => {
  const world = usePageWorld({ beforeAll, afterAll });

  it('a folder from the CLI is saved by the page as holiday.zip with the same files, byte for byte', async () => {
    const src = join(world.tmp, 'folder-src');
    for (const [path, content] of Object.entries(FILES)) {
      await mkdir(join(src, path, '..'), { recursive: true });
      await writeFile(join(src, path), content);
    }
    const sender = runPortunus(['send', '--json', '--transport', 'relay', '--relay', world.relay.url, 'holiday'], {
      cwd: src,
    });
    const code = String((await sender.waitEvent('code')).code);
    const context = await phoneContext(world.browser);
    try {
      const page = await openPage(context, `${world.relay.origin}/#${code}`, 'offer');
      expect(await page.locator('#offer-name').textContent()).toBe('holiday');
      expect(await page.locator('#offer-detail').textContent()).toMatch(/^a folder, 4 files, /);
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#accept').click()]);
      expect(download.suggestedFilename()).toBe('holiday.zip');
      await waitState(page, 'done');
      expect(await exitOf(sender, STATE_MS)).toBe(0);
      const listing = zipListing(await download.path());
      expect(listing).toEqual(
        Object.fromEntries(Object.entries(FILES).map(([path, content]) => [path, sha256(content)])),
      );
    } finally {
      await context.close();
    }
  });

  it('several files picked in the page arrive at portunus receive as the folder "files"', async () => {
    const src = join(world.tmp, 'picked');
    const dst = join(world.tmp, 'picked-dst');
    await mkdir(src, { recursive: true });
    await mkdir(dst, { recursive: true });
    const picked = { 'a.txt': Buffer.from('first\n'), 'b.bin': randomBytes(2_500_000), 'c d.txt': Buffer.from('x') };
    for (const [name, content] of Object.entries(picked)) await writeFile(join(src, name), content);
    const context = await phoneContext(world.browser);
    try {
      const page = await openPage(context, `${world.relay.origin}/`);
      await page.locator('#files').setInputFiles(Object.keys(picked).map((name) => join(src, name)));
      expect(await page.locator('#drop-text').textContent()).toBe('3 files: a.txt, b.bin, c d.txt');
      await page.locator('#send-form button[type="submit"]').click();
      await waitState(page, 'code');
      const code = (await page.locator('#code-text').textContent())!;
      const receiver = runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url, code], { cwd: dst });
      expect(await exitOf(receiver, STATE_MS)).toBe(0);
      await waitState(page, 'done');
      for (const [name, content] of Object.entries(picked)) {
        expect(sha256(await readFile(join(dst, 'files', name)))).toBe(sha256(content));
      }
    } finally {
      await context.close();
    }
  });
});
