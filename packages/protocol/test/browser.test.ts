/**
 * The browser-safe claim, exercised: the protocol package bundles for the browser (esbuild, `platform: 'browser'`)
 * with no Node built-in, and its vectors — CPace, the key schedule, the frames on the @noble/ciphers AEAD, the
 * bindings — all pass inside headless Chromium (Debian's /usr/bin/chromium through playwright-core), on a page
 * served from 127.0.0.1 with `crypto.subtle` removed, as on a plain-http LAN page; and the frame vectors pass through
 * the data plane's stream objects on the AEAD the page picks: noble there, Chromium's WebCrypto with `crypto.subtle`.
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser, type BrowserBundle } from '../../../test/browser/bundle.js';
import { chromiumSkipReason, launchChromium, type Chromium } from '../../../test/browser/chromium.js';
import { servePage, type StaticServer } from '../../../test/browser/serve.js';
import { nobleAead } from '../src/aead.noble.js';
import * as protocol from '../src/index.js';
import { PAGE_REPORT_GLOBAL, PROTOCOL_VECTORS, runVectorChecks, type PageReport } from './vector-checks.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
const ENTRY = 'packages/protocol/src/index.ts';
const PAGE = 'packages/protocol/test/browser-page.ts';
/** Bounds a hang of the browser; loading and running the page takes a second or two here. */
const PAGE_TIMEOUT_MS = 60_000;

/** Each entry is bundled once for the whole file. */
const bundles = new Map<string, Promise<BrowserBundle>>();
function bundled(entry: string): Promise<BrowserBundle> {
  if (!bundles.has(entry)) bundles.set(entry, bundleForBrowser(entry));
  return bundles.get(entry)!;
}

const skip = chromiumSkipReason();
if (skip !== undefined) console.log(`skipping the browser vectors: ${skip}`);

describe('the protocol package bundled for the browser', () => {
  it.each([ENTRY, PAGE])('%s bundles with no Node built-in and no *.node.ts file', async (entry) => {
    const bundle = await bundled(entry);
    expect(bundle.inputs).toContain('packages/protocol/src/session.ts');
    expect(bundle.inputs).toContain('packages/protocol/src/frame.ts');
    expect(bundle.inputs.filter((path) => path.endsWith('.node.ts'))).toEqual([]);
    expect(bundle.imports.filter((path) => path.startsWith('node:'))).toEqual([]);
    expect(bundle.code).not.toMatch(/\bfrom\s*["']node:/);
  });

  it('the page bundle holds every source file of the package except the *.node.ts ones', async () => {
    // Files of types alone (the session's values) leave nothing for a bundler to hold.
    const typesOnly = ['session-types.ts', 'sha256.ts'];
    const sources = (await readdir(join(ROOT, 'packages/protocol/src'))).filter(
      (name) => !name.endsWith('.node.ts') && !typesOnly.includes(name),
    );
    const inputs = (await bundled(PAGE)).inputs.filter((path) => path.startsWith('packages/protocol/src/'));
    expect(inputs.map((path) => path.slice('packages/protocol/src/'.length)).sort()).toEqual(sources.sort());
  });

  it('refuses Node-only code: aead.node.ts does not bundle for the browser', async () => {
    await expect(bundleForBrowser('packages/protocol/src/aead.node.ts')).rejects.toThrow(/node:crypto/);
  });
});

describe.skipIf(skip !== undefined)('the protocol vectors in headless Chromium', () => {
  let server: StaticServer | undefined;

  beforeAll(async () => {
    server = await servePage((await bundled(PAGE)).code);
  });

  afterAll(async () => {
    await server?.close();
  });

  /** Opens the page in a fresh browser (an init script stays with its context) and reads the page's report. */
  async function pageReport(withoutSubtle: boolean): Promise<{ report: PageReport | undefined; errors: string[] }> {
    const chromium: Chromium = await launchChromium();
    try {
      const { context } = chromium;
      // The harness plays a page that is not a secure context: no WebCrypto, so nothing may lean on it.
      if (withoutSubtle) await context.addInitScript({ content: 'delete Crypto.prototype.subtle;' });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
      await page.goto(`${server!.url}/`, { timeout: PAGE_TIMEOUT_MS });
      // The page awaits its data-frame checks (WebCrypto answers with promises), so the report may come after load.
      const ready = (name: string) => name in globalThis;
      await page.waitForFunction(ready, PAGE_REPORT_GLOBAL, { timeout: PAGE_TIMEOUT_MS });
      const read = (name: string) => (globalThis as Record<string, unknown>)[name];
      return { report: (await page.evaluate(read, PAGE_REPORT_GLOBAL)) as PageReport | undefined, errors };
    } finally {
      await chromium.close();
    }
  }

  const title =
    'every CPace, key-schedule, frame (nobleAead), binding and drop vector passes in the page, without crypto.subtle';
  it(title, async () => {
    const { report, errors } = await pageReport(true);
    expect(errors).toEqual([]);
    expect(report).toBeDefined();
    expect(report!.subtle).toBe('undefined');
    expect(report!.sha256Abc).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(report!.checks.filter((check) => !check.ok)).toEqual([]);
    // The same checks as in Node, so none was skipped in the page, and every vector file among them.
    expect(report!.checks.map((check) => check.name)).toEqual(runVectorChecks(nobleAead).map((check) => check.name));
    expect(new Set(report!.checks.map((check) => check.name.split(' ')[0]))).toEqual(
      new Set(['cpace', 'keys', 'frames', 'binding', 'drop']),
    );
    expect(report!.exports).toEqual(Object.keys(protocol).sort());
    // Without WebCrypto the page's data plane falls back to noble, and the frame vectors pass there too.
    expect(report!.dataBackend).toBe('noble');
    expect(report!.dataFrames.filter((check) => !check.ok)).toEqual([]);
    expect(report!.dataFrames).toHaveLength(3 * PROTOCOL_VECTORS.frames.vectors.length);
  });

  it("the frame vectors pass on Chromium's own WebCrypto AES-GCM, which pageDataAead picks in a secure context", async () => {
    const { report, errors } = await pageReport(false);
    expect(errors).toEqual([]);
    expect(report!.subtle).toBe('object');
    expect(report!.dataBackend).toBe('webcrypto');
    expect(report!.dataFrames.filter((check) => !check.ok)).toEqual([]);
    expect(report!.dataFrames).toHaveLength(3 * PROTOCOL_VECTORS.frames.vectors.length);
  });
});
