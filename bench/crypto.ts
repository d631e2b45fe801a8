/**
 * Crypto benchmark: throughput of the frame layer (FrameSealer → FrameOpener on node:crypto AES-256-GCM) on one
 * core, next to raw node:crypto GCM on the same bytes in the same run, so the ratio shows what framing costs.
 *
 *   npm run build && npm run bench:crypto                  (node dist/bench/crypto.js)
 *   node dist/bench/crypto.js --total-mib 128 --sizes 64,1024 --noble-mib 16
 *
 * For each chunk size: "seal+open" seals and opens every chunk in turn (what one process does when it both sends
 * and receives); "seal" and "open" time each side alone, over batches of frames sealed just before. Figures are
 * MB/s of plaintext, MB = 10^6 bytes. bench/run.ts includes this through runCryptoBench().
 *
 * Then the AEAD backends side by side on 1 MiB frames, with their ratio to node:crypto: node:crypto (aead.node.ts,
 * the CLI's), WebCrypto (aead.webcrypto.ts, the page's in a secure context; here Node's `crypto.subtle`, so the row
 * shows what the promise-based API costs over the same OpenSSL, not a browser's speed) and @noble/ciphers
 * (aead.noble.ts, a page without WebCrypto). WebCrypto is measured as the data plane uses it: each seal and open
 * awaited before the next. noble is pure JavaScript and far slower, so it gets fewer bytes (--noble-mib); MB/s
 * figures stay comparable. Last, the page's two AEADs in headless Chromium (browser-crypto.ts), when it is installed.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type DataAeadFactory, FrameOpener, FrameSealer, HEADER_BYTES, type MaybePromise } from '@portunus/protocol';
import { nobleAead } from '@portunus/protocol/noble';
import { nodeAead } from '@portunus/protocol/node';
import { webCryptoAead } from '@portunus/protocol/webcrypto';
import { formatBrowserCryptoBench, runBrowserCryptoBench } from './browser-crypto.js';
import { startedAs } from './entry.js';

const KIB = 1024;
const MIB = 1024 * KIB;
/** The throughput the data path must reach, seal+open on one core (MB/s). */
export const CRYPTO_TARGET_MBPS = 500;

export interface CryptoBenchOptions {
  /** Plaintext bytes per frame; default 64 KiB, 256 KiB, 1 MiB. */
  chunkSizes?: readonly number[];
  /** Plaintext bytes pushed through each measurement; default 512 MiB (below ~256 MiB the figures get noisy). */
  totalBytes?: number;
  /** Plaintext bytes for the @noble/ciphers backend row; default the smaller of totalBytes and 32 MiB. */
  nobleTotalBytes?: number;
  /** Milliseconds clock; default performance.now. */
  now?: () => number;
}

export interface Throughput {
  /** Seal then open of each chunk, MB/s of plaintext. */
  sealOpenMBps: number;
  sealMBps: number;
  openMBps: number;
}

export interface CryptoBenchFigure {
  chunkBytes: number;
  totalBytes: number;
  /** FrameSealer / FrameOpener on nodeAead. */
  framing: Throughput;
  /** createCipheriv / createDecipheriv on the same data with a 13-byte AAD, update() output used as is. */
  raw: Throughput;
  /** framing.sealOpenMBps / raw.sealOpenMBps. */
  ratio: number;
}

/** FrameSealer / FrameOpener on one AEAD backend, 1 MiB frames. */
export interface AeadBackendFigure {
  backend: string;
  totalBytes: number;
  framing: Throughput;
  /** framing.sealOpenMBps / the node:crypto row's. */
  ratio: number;
}

export interface CryptoBenchResult {
  node: string;
  targetMBps: number;
  figures: CryptoBenchFigure[];
  backends: AeadBackendFigure[];
}

/** One way of sealing and opening a sequence of chunks; `open` must get the sealed values in order. */
interface Codec<T> {
  seal(chunk: Uint8Array): T;
  open(sealed: T): Uint8Array;
}

/** A codec whose seal and open may answer with promises (a DataAead such as WebCrypto). */
interface AsyncCodec {
  seal(chunk: Uint8Array): MaybePromise<Uint8Array>;
  open(sealed: Uint8Array): MaybePromise<Uint8Array>;
}

function framingCodec(): Codec<Uint8Array> {
  const key = randomBytes(32);
  const sealer = new FrameSealer(nodeAead(key), 1);
  const opener = new FrameOpener(nodeAead(key), 1);
  return { seal: (chunk) => sealer.seal(chunk), open: (frame) => opener.open(frame).plaintext };
}

function asyncFramingCodec(aead: DataAeadFactory): AsyncCodec {
  const key = randomBytes(32);
  const sealer = new FrameSealer(aead(key), 1);
  const opener = new FrameOpener(aead(key), 1);
  return {
    seal: (chunk) => sealer.seal(chunk),
    open: async (frame) => (await opener.open(frame)).plaintext,
  };
}

interface RawSealed {
  nonce: Buffer;
  body: Buffer;
  tag: Buffer;
}

function rawCodec(): Codec<RawSealed> {
  const key = randomBytes(32);
  const aad = Buffer.alloc(HEADER_BYTES);
  let counter = 0;
  return {
    seal(chunk) {
      const nonce = Buffer.alloc(12);
      nonce.writeUIntBE(counter++, 6, 6);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(aad);
      const body = cipher.update(chunk);
      cipher.final();
      return { nonce, body, tag: cipher.getAuthTag() };
    },
    open({ nonce, body, tag }) {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce);
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      const plaintext = decipher.update(body);
      decipher.final();
      return plaintext;
    },
  };
}

function mbps(bytes: number, ms: number): number {
  return Math.round(bytes / 1e6 / (ms / 1000));
}

function checkSame(opened: Uint8Array, chunk: Uint8Array): void {
  if (Buffer.compare(opened, chunk) !== 0) throw new Error('benchmark round trip returned different bytes');
}

/** Times `count` chunks each sealed then opened, and the same split into separately timed seal and open batches. */
function measure<T>(makeCodec: () => Codec<T>, chunk: Uint8Array, count: number, now: () => number): Throughput {
  const interleaved = makeCodec();
  let opened: Uint8Array = chunk;
  let start = now();
  for (let i = 0; i < count; i++) opened = interleaved.open(interleaved.seal(chunk));
  const sealOpenMs = now() - start;
  checkSame(opened, chunk);

  const split = makeCodec();
  // Batches of about 32 MiB keep the sealed frames in memory small while each timed loop stays long.
  const batch = Math.max(1, Math.floor((32 * MIB) / chunk.length));
  let sealMs = 0;
  let openMs = 0;
  for (let done = 0; done < count; done += batch) {
    const sealed: T[] = [];
    start = now();
    for (let i = 0; i < Math.min(batch, count - done); i++) sealed.push(split.seal(chunk));
    sealMs += now() - start;
    start = now();
    for (const value of sealed) opened = split.open(value);
    openMs += now() - start;
  }
  checkSame(opened, chunk);
  const bytes = count * chunk.length;
  return { sealOpenMBps: mbps(bytes, sealOpenMs), sealMBps: mbps(bytes, sealMs), openMBps: mbps(bytes, openMs) };
}

/** measure() for an AsyncCodec: each seal and open awaited before the next, as the data plane does. */
async function measureAsync(
  makeCodec: () => AsyncCodec,
  chunk: Uint8Array,
  count: number,
  now: () => number,
): Promise<Throughput> {
  const interleaved = makeCodec();
  let opened: Uint8Array = chunk;
  let start = now();
  for (let i = 0; i < count; i++) opened = await interleaved.open(await interleaved.seal(chunk));
  const sealOpenMs = now() - start;
  checkSame(opened, chunk);
  const split = makeCodec();
  const batch = Math.max(1, Math.floor((32 * MIB) / chunk.length));
  let sealMs = 0;
  let openMs = 0;
  for (let done = 0; done < count; done += batch) {
    const sealed: Uint8Array[] = [];
    start = now();
    for (let i = 0; i < Math.min(batch, count - done); i++) sealed.push(await split.seal(chunk));
    sealMs += now() - start;
    start = now();
    for (const value of sealed) opened = await split.open(value);
    openMs += now() - start;
  }
  checkSame(opened, chunk);
  const bytes = count * chunk.length;
  return { sealOpenMBps: mbps(bytes, sealOpenMs), sealMBps: mbps(bytes, sealMs), openMBps: mbps(bytes, openMs) };
}

/** Measures framing and raw GCM for each chunk size, then each AEAD backend; returns the figures (prints nothing). */
export async function runCryptoBench(opts: CryptoBenchOptions = {}): Promise<CryptoBenchResult> {
  const chunkSizes = opts.chunkSizes ?? [64 * KIB, 256 * KIB, MIB];
  const totalBytes = opts.totalBytes ?? 512 * MIB;
  const now = opts.now ?? (() => performance.now());
  const figures: CryptoBenchFigure[] = [];
  for (const chunkBytes of chunkSizes) {
    const chunk = randomBytes(chunkBytes);
    const count = Math.max(1, Math.round(totalBytes / chunkBytes));
    // Warm-up: let V8 optimise both loops and OpenSSL settle before anything is timed.
    const warmCount = Math.max(1, Math.round((16 * MIB) / chunkBytes));
    measure(rawCodec, chunk, warmCount, now);
    measure(framingCodec, chunk, warmCount, now);
    const raw = measure(rawCodec, chunk, count, now);
    const framing = measure(framingCodec, chunk, count, now);
    const ratio = Math.round((framing.sealOpenMBps / raw.sealOpenMBps) * 100) / 100;
    figures.push({ chunkBytes, totalBytes: count * chunkBytes, framing, raw, ratio });
  }
  const nobleTotalBytes = opts.nobleTotalBytes ?? Math.min(totalBytes, 32 * MIB);
  const measured: [string, number, Throughput][] = [];
  for (const [backend, aead, bytes] of [
    ['node:crypto', nodeAead, totalBytes],
    ['WebCrypto (Node)', webCryptoAead, totalBytes],
    ['@noble/ciphers', nobleAead, nobleTotalBytes],
  ] as const) {
    measured.push([backend, ...(await measureBackend(aead, bytes, now))]);
  }
  const base = measured[0]![2].sealOpenMBps;
  const backends = measured.map(([backend, bytes, framing]) => {
    const ratio = Math.round((framing.sealOpenMBps / base) * 1000) / 1000;
    return { backend, totalBytes: bytes, framing, ratio };
  });
  return { node: process.version, targetMBps: CRYPTO_TARGET_MBPS, figures, backends };
}

/** FrameSealer → FrameOpener on `aead`, 1 MiB frames, every call awaited (a plain value for a synchronous Aead). */
async function measureBackend(
  aead: DataAeadFactory,
  totalBytes: number,
  now: () => number,
): Promise<[number, Throughput]> {
  const chunk = randomBytes(MIB);
  const count = Math.max(1, Math.round(totalBytes / MIB));
  await measureAsync(() => asyncFramingCodec(aead), chunk, Math.min(count, 4), now);
  return [count * MIB, await measureAsync(() => asyncFramingCodec(aead), chunk, count, now)];
}

function size(bytes: number): string {
  return bytes >= MIB ? `${bytes / MIB} MiB` : `${bytes / KIB} KiB`;
}

/** The figures as a table, one line per string. */
export function formatCryptoBench(result: CryptoBenchResult): string[] {
  const lines = [
    `AES-256-GCM framing, one core, node ${result.node}; MB/s of plaintext (MB = 10^6 bytes)`,
    'chunk     total      framing: seal+open   seal   open   raw GCM: seal+open   seal   open   ratio',
  ];
  for (const f of result.figures) {
    const cells = [
      size(f.chunkBytes).padEnd(9),
      size(f.totalBytes).padEnd(19),
      String(f.framing.sealOpenMBps).padStart(9),
      String(f.framing.sealMBps).padStart(6),
      String(f.framing.openMBps).padStart(6),
      String(f.raw.sealOpenMBps).padStart(19),
      String(f.raw.sealMBps).padStart(6),
      String(f.raw.openMBps).padStart(6),
      f.ratio.toFixed(2).padStart(7),
    ];
    lines.push(cells.join(' '));
  }
  const slowest = Math.min(...result.figures.map((f) => f.framing.sealOpenMBps));
  const verdict = slowest >= result.targetMBps ? 'met' : 'NOT met';
  lines.push(`target: framing seal+open >= ${result.targetMBps} MB/s at every size: ${verdict} (slowest ${slowest})`);
  lines.push('AEAD backend, 1 MiB frames   total      framing: seal+open   seal   open   vs node:crypto');
  for (const b of result.backends) {
    const cells = [
      b.backend.padEnd(28),
      size(b.totalBytes).padEnd(19),
      String(b.framing.sealOpenMBps).padStart(9),
      String(b.framing.sealMBps).padStart(6),
      String(b.framing.openMBps).padStart(6),
      b.ratio.toFixed(3).padStart(15),
    ];
    lines.push(cells.join(' '));
  }
  return lines;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'total-mib': { type: 'string' }, sizes: { type: 'string' }, 'noble-mib': { type: 'string' } },
  });
  const totalMib = Number(values['total-mib'] ?? 512);
  const nobleMib = Number(values['noble-mib'] ?? Math.min(totalMib, 32));
  const sizesKib = (values.sizes ?? '64,256,1024').split(',').map(Number);
  if (!(totalMib > 0) || !(nobleMib > 0) || sizesKib.some((s) => !(s > 0 && s <= 1024))) {
    console.error(
      'usage: node dist/bench/crypto.js [--total-mib N] [--sizes KiB,KiB,… (each 1..1024)] [--noble-mib N]',
    );
    process.exitCode = 2;
    return;
  }
  const result = await runCryptoBench({
    totalBytes: totalMib * MIB,
    nobleTotalBytes: nobleMib * MIB,
    chunkSizes: sizesKib.map((s) => Math.round(s * KIB)),
  });
  for (const line of formatCryptoBench(result)) console.log(line);
  // The page's two AEADs where they really run (wall clock, so they also show how loaded the machine is).
  const nodeRow = result.backends.find((b) => b.backend === 'node:crypto');
  const browser = await runBrowserCryptoBench({ mib: Math.min(totalMib, 256), nobleMib });
  for (const line of formatBrowserCryptoBench(browser, nodeRow?.framing.sealOpenMBps)) console.log(line);
}

if (startedAs('crypto.js')) await main();
