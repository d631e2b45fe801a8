/**
 * The page in a browser against the CLI (issue 14): a real `portunus relay` process serving the built page
 * (packages/web/dist) on 127.0.0.1, real `portunus send`/`receive` processes, and the page in headless Chromium
 * (/usr/bin/chromium), driven as packages/web/test/page-harness.ts drives it. CLI → page and page → CLI, each with
 * the CLI on --transport relay and on --transport webrtc (the browser's own WebRTC stack), the page at
 * http://127.0.0.1 (a secure context: WebCrypto, and a download streamed through its service worker); and CLI →
 * page over the relay with the page at http://portunus-bench.test (Chromium maps that name to 127.0.0.1), which is
 * not a secure context: the page runs @noble/ciphers and keeps the file in memory until Save.
 *
 * MB/s is over the CLI's own `done` seconds (pairing to the receipt), as bench/transfer.ts takes them; for CLI →
 * page that includes the click on Accept, made as soon as the offer shows. Beside each row: the same path and size
 * CLI ↔ CLI (transfer.ts) and the ratio. CPU seconds: the CLI process, the relay, and the whole Chromium process
 * tree during the transfer. Every row's bytes are checked by SHA-256.
 * Run alone with `npm run build && node dist/bench/page.js [--quick]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkipReason, launchBrowser, openPage, waitState } from '../packages/web/test/page-harness.js';
import { makeRandomFile, sha256File } from './payload.js';
import { fmt, mb, ROOT, spawnPortunus, type BenchProc } from './processes.js';
import { runTransferBench } from './transfer.js';
import { childrenRunning, treeCpuSeconds } from './tree-cpu.js';

const NON_SECURE_HOST = 'portunus-bench.test';
/** A hang detector for one state change of the page, not a speed target. */
const STATE_MS = 600_000;

type Transport = 'relay' | 'webrtc';
interface RowSpec {
  direction: 'CLI → page' | 'page → CLI';
  transport: Transport;
  secure: boolean;
}
const ROWS: readonly RowSpec[] = [
  { direction: 'CLI → page', transport: 'relay', secure: true },
  { direction: 'CLI → page', transport: 'webrtc', secure: true },
  { direction: 'page → CLI', transport: 'relay', secure: true },
  { direction: 'page → CLI', transport: 'webrtc', secure: true },
  { direction: 'CLI → page', transport: 'relay', secure: false },
];

export interface PageRow extends RowSpec {
  bytes: number;
  mbps?: number;
  /** The path the CLI reported in `done`. */
  carried?: string;
  sha256Match?: boolean;
  cpuSeconds?: { cli: number; relay: number; browser: number };
  error?: string;
}

export interface PageFigures {
  bytes: number;
  rows: PageRow[];
  /** CLI ↔ CLI MB/s of the same size on each path (or why it failed). */
  cli: Record<Transport, number | string>;
}

interface World {
  browser: Browser;
  /** The processes playwright started for `browser` (a Browser does not name its process). */
  browserPids: number[];
  relay: BenchProc;
  relayUrl: string;
  port: string;
  payload: { path: string; sha256: string };
  dir: string;
}

/** Runs every row and the CLI ↔ CLI figures beside them; a string (the reason) when Chromium is not installed. */
export async function runPageBench(opts: { bytes: number }): Promise<PageFigures | string> {
  const skip = chromiumSkipReason();
  if (skip !== undefined) return skip;
  const dir = await mkdtemp(join(tmpdir(), 'portunus-bench-page-'));
  try {
    const path = join(dir, 'payload.bin');
    const payload = { path, sha256: await makeRandomFile(path, opts.bytes) };
    const cli = { relay: '', webrtc: '' } as PageFigures['cli'];
    for (const transport of ['relay', 'webrtc'] as const) {
      const got = await runTransferBench({ bytes: opts.bytes, transport, payload }).catch((err: unknown) => err);
      cli[transport] = got instanceof Error ? firstLine(got) : (got as { mbps: number }).mbps;
    }
    const pageDir = join(ROOT, 'packages/web/dist');
    const relay = spawnPortunus(['relay', '--host', '127.0.0.1', '--port', '0', '--json', '--page-dir', pageDir]);
    const browser = await launchBrowser([`--host-resolver-rules=MAP ${NON_SECURE_HOST} 127.0.0.1`]);
    try {
      const relayUrl = String((await relay.waitEvent('listening')).url);
      const browserPids = childrenRunning(process.pid, 'chromium');
      const world: World = { browser, browserPids, relay, relayUrl, port: new URL(relayUrl).port, payload, dir };
      const rows: PageRow[] = [];
      for (const spec of ROWS) {
        const row = spec.direction === 'CLI → page' ? cliToPage(world, spec) : pageToCli(world, spec);
        rows.push(await row.catch((err: unknown) => ({ ...spec, bytes: opts.bytes, error: firstLine(err) })));
      }
      return { bytes: opts.bytes, rows, cli };
    } finally {
      await browser.close();
      relay.child.kill('SIGTERM');
      await relay.exit;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function origin(world: World, secure: boolean): string {
  return `http://${secure ? '127.0.0.1' : NON_SECURE_HOST}:${world.port}`;
}

/** The browser's and the relay's CPU seconds from now until the returned function is called. */
function cpuMeter(world: World): () => { relay: number; browser: number } {
  const browserNow = () => treeCpuSeconds(world.browserPids);
  const [browser0, relay0] = [browserNow(), world.relay.cpuSeconds()];
  return () => ({ relay: world.relay.cpuSeconds() - relay0, browser: browserNow() - browser0 });
}

async function cliToPage(world: World, spec: RowSpec): Promise<PageRow> {
  const common = ['--json', '--relay', world.relayUrl, '--transport', spec.transport];
  const sender = spawnPortunus(['send', ...common, world.payload.path]);
  try {
    const code = String((await sender.waitEvent('code')).code);
    const context = await world.browser.newContext({ acceptDownloads: true });
    try {
      const page = await openPage(context, `${origin(world, spec.secure)}/#${code}`, 'offer');
      await checkContext(page, spec.secure);
      const cpu = cpuMeter(world);
      let saved: string;
      if (spec.secure) {
        // A secure context streams the download through its service worker from Accept on.
        const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#accept').click()]);
        await waitState(page, 'done', STATE_MS);
        saved = await download.path();
      } else {
        await page.locator('#accept').click();
        await waitState(page, 'done', STATE_MS);
        const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#save').click()]);
        saved = await download.path();
      }
      const exitCode = await sender.exit;
      const used = cpu();
      if (exitCode !== 0) throw new Error(`send exited ${exitCode}: ${sender.stderr()}`);
      const received = await sha256File(saved);
      return finish(world, spec, sender, received, used);
    } finally {
      await context.close();
    }
  } finally {
    sender.child.kill('SIGTERM');
  }
}

async function pageToCli(world: World, spec: RowSpec): Promise<PageRow> {
  const context = await world.browser.newContext({ acceptDownloads: true });
  let receiver: BenchProc | undefined;
  try {
    const page: Page = await openPage(context, `${origin(world, spec.secure)}/`);
    await checkContext(page, spec.secure);
    await page.locator('#files').setInputFiles(world.payload.path);
    await page.locator('#send-form button[type="submit"]').click();
    await waitState(page, 'code');
    const code = (await page.locator('#code-text').textContent())!;
    const out = join(world.dir, 'received.bin');
    const cpu = cpuMeter(world);
    receiver = spawnPortunus([
      'receive',
      ...['--json', '--yes', '--relay', world.relayUrl, '--transport', spec.transport, '-o', out, code],
    ]);
    const exitCode = await receiver.exit;
    await waitState(page, 'done', STATE_MS);
    const used = cpu();
    if (exitCode !== 0) throw new Error(`receive exited ${exitCode}: ${receiver.stderr()}`);
    const received = await sha256File(out);
    await rm(out, { force: true });
    return finish(world, spec, receiver, received, used);
  } finally {
    receiver?.child.kill('SIGTERM');
    await context.close();
  }
}

/** A row's label must be true: WebCrypto exists in a secure context only, and the page picks its AEAD by it. */
async function checkContext(page: Page, secure: boolean): Promise<void> {
  const isSecure = await page.evaluate(() => {
    const g = globalThis as unknown as { isSecureContext: boolean; crypto: { subtle?: object } };
    return g.isSecureContext && g.crypto.subtle !== undefined;
  });
  if (isSecure !== secure) throw new Error(`the page's context is ${isSecure ? '' : 'not '}secure`);
}

/** The row from the CLI's `done` event; the bytes match when both the CLI's SHA-256 and the saved file's do. */
function finish(
  world: World,
  spec: RowSpec,
  cli: BenchProc,
  receivedSha256: string,
  used: { relay: number; browser: number },
): PageRow {
  const done = cli.events.find((e) => e.event === 'done');
  if (done === undefined) throw new Error(`no done event: ${cli.stderr()}`);
  const bytes = Number(done.bytes);
  const expected = world.payload.sha256;
  return {
    ...spec,
    bytes,
    mbps: mb(bytes) / Number(done.seconds),
    carried: String(done.transport ?? 'none'),
    sha256Match: done.sha256 === expected && receivedSha256 === expected,
    cpuSeconds: { cli: cli.cpuSeconds(), ...used },
  };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

export function formatPageBench(f: PageFigures | string): string[] {
  if (typeof f === 'string') return [`the page in Chromium: skipped (${f})`];
  const lines = [
    `${'direction'.padEnd(11)} ${'CLI --transport'.padEnd(15)} ${'page context'.padEnd(25)} ${'MB'.padStart(4)} ` +
      `${'MB/s'.padStart(6)}  ${'carried by'.padEnd(10)} ${'CPU s CLI/relay/Chromium'.padEnd(24)} ` +
      `${'CLI↔CLI MB/s'.padStart(12)} ${'page/CLI'.padStart(8)}  SHA-256`,
  ];
  for (const row of f.rows) {
    const context = row.secure ? 'secure (WebCrypto)' : 'non-secure (@noble)';
    const head = `${row.direction.padEnd(11)} ${row.transport.padEnd(15)} ${context.padEnd(25)}`;
    if (row.error !== undefined || row.mbps === undefined) {
      lines.push(`${head} FAILED: ${row.error ?? 'no figure'}`);
      continue;
    }
    const cli = f.cli[row.transport];
    const cpu = row.cpuSeconds!;
    lines.push(
      `${head} ${fmt(mb(row.bytes), 0).padStart(4)} ${fmt(row.mbps).padStart(6)}  ${row.carried!.padEnd(10)} ` +
        `${`${fmt(cpu.cli, 1)}/${fmt(cpu.relay, 1)}/${fmt(cpu.browser, 1)}`.padEnd(24)} ` +
        `${(typeof cli === 'number' ? fmt(cli) : 'FAILED').padStart(12)} ` +
        `${(typeof cli === 'number' ? fmt(row.mbps / cli, 3) : '-').padStart(8)}  ` +
        `${row.sha256Match ? 'matches' : 'FAILED (the bytes differ)'}`,
    );
  }
  for (const transport of ['relay', 'webrtc'] as const) {
    const cli = f.cli[transport];
    if (typeof cli === 'string') lines.push(`CLI ↔ CLI over ${transport}: FAILED: ${cli}`);
  }
  return lines;
}

// The basename check keeps this from running inside run.js, which bundles this file (import.meta.url is run.js's).
const entry = process.argv[1];
if (entry !== undefined && basename(entry) === 'page.js' && fileURLToPath(import.meta.url) === entry) {
  const quick = process.argv.includes('--quick');
  runPageBench({ bytes: quick ? 20 * 1000 * 1000 : 100 * 1000 * 1000 }).then(
    (f) => console.log(formatPageBench(f).join('\n')),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
