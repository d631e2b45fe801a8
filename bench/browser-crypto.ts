/**
 * The page's AEADs where the page runs them: headless Chromium (Debian's /usr/bin/chromium), a page served from
 * 127.0.0.1 (a secure context, so it has `crypto.subtle`). FrameSealer → FrameOpener on 1 MiB frames, each call
 * awaited before the next as the data plane does, on WebCrypto (what pageDataAead picks there) and on
 * @noble/ciphers (what it picks without `crypto.subtle`). Wall-clock MB/s of plaintext, MB = 10^6 bytes.
 *
 * bench/crypto.ts (`npm run bench:crypto`) prints these rows after its Node ones. No entry point of its own: the
 * bench bundles inline this file, and a second `import.meta.url` check would run inside crypto.js.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromiumSkipReason, launchChromium } from '../test/browser/chromium.js';
import { servePage } from '../test/browser/serve.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

export interface BrowserAeadFigure {
  backend: 'webcrypto' | 'noble';
  totalBytes: number;
  sealOpenMBps: number;
  sealMBps: number;
  openMBps: number;
}

/** Runs in the page: times `count` 1 MiB frames sealed then opened, then the same split into seal and open batches. */
const PAGE = `
import { FrameOpener, FrameSealer } from '@portunus/protocol';
import { nobleAead } from '@portunus/protocol/noble';
import { webCryptoAead } from '@portunus/protocol/webcrypto';
const MIB = 1024 * 1024;
const mbps = (bytes, ms) => Math.round(bytes / 1e6 / (ms / 1000));
function pair(factory) {
  const key = crypto.getRandomValues(new Uint8Array(32));
  return [new FrameSealer(factory(key), 1), new FrameOpener(factory(key), 1)];
}
globalThis.portunusAeadBench = async (backend, count) => {
  const factory = backend === 'webcrypto' ? webCryptoAead : nobleAead;
  const chunk = crypto.getRandomValues(new Uint8Array(64 * 1024));
  const frame = new Uint8Array(MIB).map((_, i) => chunk[i % chunk.length]);
  let [sealer, opener] = pair(factory);
  let start = performance.now();
  for (let i = 0; i < count; i++) await opener.open(await sealer.seal(frame));
  const sealOpenMs = performance.now() - start;
  [sealer, opener] = pair(factory);
  const sealed = [];
  start = performance.now();
  for (let i = 0; i < count; i++) sealed.push(await sealer.seal(frame));
  const sealMs = performance.now() - start;
  start = performance.now();
  for (const f of sealed) await opener.open(f);
  const openMs = performance.now() - start;
  const bytes = count * MIB;
  return { sealOpenMBps: mbps(bytes, sealOpenMs), sealMBps: mbps(bytes, sealMs), openMBps: mbps(bytes, openMs) };
};
`;

/** Measures both page AEADs in Chromium; undefined (with the reason) when Chromium is not installed. */
export async function runBrowserCryptoBench(
  opts: { mib?: number; nobleMib?: number } = {},
): Promise<BrowserAeadFigure[] | string> {
  const skip = chromiumSkipReason();
  if (skip !== undefined) return skip;
  const bundle = await build({
    stdin: { contents: PAGE, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    logLevel: 'silent',
  });
  const server = await servePage(bundle.outputFiles[0]!.text, 'Portunus AEAD bench');
  const chromium = await launchChromium();
  try {
    const page = await chromium.context.newPage();
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => 'portunusAeadBench' in globalThis);
    const figures: BrowserAeadFigure[] = [];
    for (const [backend, mib] of [
      ['webcrypto', opts.mib ?? 256],
      ['noble', opts.nobleMib ?? 32],
    ] as const) {
      const run = (args: [string, number]) =>
        (globalThis as unknown as { portunusAeadBench(b: string, n: number): Promise<object> }).portunusAeadBench(
          ...args,
        );
      await page.evaluate(run, [backend, Math.min(mib, 4)] as [string, number]); // warm-up
      const measured = (await page.evaluate(run, [backend, mib] as [string, number])) as Omit<
        BrowserAeadFigure,
        'backend' | 'totalBytes'
      >;
      figures.push({ backend, totalBytes: mib * 1024 * 1024, ...measured });
    }
    return figures;
  } finally {
    await chromium.close();
    await server.close();
  }
}

/** The figures as table lines (`ratio` is against the Node table's node:crypto seal+open, when given). */
export function formatBrowserCryptoBench(figures: BrowserAeadFigure[] | string, nodeSealOpenMBps?: number): string[] {
  if (typeof figures === 'string') return [`AEAD in Chromium: skipped (${figures})`];
  return figures.map((f) => {
    const name = f.backend === 'webcrypto' ? 'WebCrypto (Chromium)' : '@noble/ciphers (Chromium)';
    const ratio = nodeSealOpenMBps === undefined ? '' : (f.sealOpenMBps / nodeSealOpenMBps).toFixed(3).padStart(15);
    const cells = [
      name.padEnd(28),
      `${f.totalBytes / 1024 / 1024} MiB`.padEnd(19),
      String(f.sealOpenMBps).padStart(9),
      String(f.sealMBps).padStart(6),
      String(f.openMBps).padStart(6),
    ];
    return [...cells, ratio].join(' ').trimEnd();
  });
}
