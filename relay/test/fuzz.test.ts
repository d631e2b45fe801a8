/**
 * Fuzz: over 10,000 hostile frames (fuzz-messages.ts) at a relay running in its own process, from many concurrent
 * connections with random client addresses. Afterwards the relay must still be alive, a pair that stayed
 * connected throughout must be unaffected, a new pairing must work, every close must have carried a defined code,
 * and the relay's bookkeeping must be back to nothing once everyone has left (read from its own /metrics, so the
 * check works the same against a deployed relay).
 *
 * Why a child process: a crash or an unhandled exception anywhere in the relay ends that process, which the test
 * sees directly; it runs with a 64 MiB old space, so a leak ends it too. No memory figure is asserted (it would
 * depend on the machine's load); `npm run bench` prints the relay's memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import WebSocket from 'ws';
import { fuzzSession, prng, type Frame } from './fuzz-messages.js';
import { metricValue, pair, pipe, within } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAX_MESSAGE = 16 * 1024;
const SEED = Number(process.env.PORTUNUS_FUZZ_SEED ?? 20_240_601);
const WORKERS = 32;
/** Small, so the fuzz reaches the nameplate cap and the burned-nameplate table's bound. */
const MAX_NAMEPLATES = 6;
/** Close codes the relay (or ws on its behalf) may use; 1005/1000 are the fuzzer's own closes. */
const DEFINED_CLOSES = new Set([1000, 1005, 1007, 1009, 4001, 4003, 4004, 4005, 4006, 4007, 4008, 4009, 4013]);

let child: ChildProcessByStdio<null, Readable, Readable>;
let url: string;
let base: string;
let stderr = '';

beforeAll(async () => {
  child = spawn(
    process.execPath,
    [
      '--max-old-space-size=64',
      '--import',
      'tsx',
      'relay/src/main.ts',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--json',
      '--quiet',
      '--trust-proxy',
      '--max-message-size',
      String(MAX_MESSAGE),
      '--max-frame-size',
      String(MAX_MESSAGE),
      '--idle-timeout',
      '5',
      '--nameplate-ttl',
      '5',
      '--max-nameplates',
      String(MAX_NAMEPLATES),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const line = await within(
    new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().split('\n')[0]!));
      child.once('exit', (code) => reject(new Error(`relay exited with ${code}: ${stderr}`)));
    }),
    'the relay process',
    20_000,
  );
  url = (JSON.parse(line) as { url: string }).url;
  base = url.replace('ws://', 'http://').replace('/v1', '');
});

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await within(exited, 'relay exit', 20_000);
  }
});

async function scrape(): Promise<{ connections: number; nameplates: number; burned: number; text: string }> {
  const text = await within(
    fetch(`${base}/metrics`).then((r) => r.text()),
    '/metrics',
  );
  return {
    connections: metricValue(text, 'portunus_relay_connections') ?? NaN,
    nameplates: metricValue(text, 'portunus_relay_nameplates') ?? NaN,
    burned: metricValue(text, 'portunus_relay_burned_nameplates') ?? NaN,
    text,
  };
}

function send(ws: WebSocket, frame: Frame): void {
  if (frame.kind === 'binary') ws.send(frame.data, { binary: true });
  else ws.send(frame.data, { binary: false });
}

/** One connection: sends its frames, then a ping as a barrier, then closes if the relay has not. Returns the close code. */
async function session(frames: Frame[], ip: string, yieldNow: () => boolean): Promise<{ code: number; sent: number }> {
  const ws = new WebSocket(url, { perMessageDeflate: false, headers: { 'x-forwarded-for': ip } });
  ws.on('error', () => {});
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await within(
    new Promise<void>((resolve) => {
      ws.once('open', resolve);
      ws.once('close', () => resolve());
    }),
    'open',
  );
  let sent = 0;
  for (const frame of frames) {
    if (ws.readyState !== WebSocket.OPEN) break;
    send(ws, frame);
    sent++;
    if (yieldNow()) await new Promise((resolve) => setImmediate(resolve));
  }
  if (ws.readyState === WebSocket.OPEN) {
    // The pong comes after the relay has handled every frame before the ping (or the relay closes first).
    ws.ping();
    await within(Promise.race([new Promise((resolve) => ws.once('pong', resolve)), closed]), 'pong or close');
    if (ws.readyState === WebSocket.OPEN) ws.close();
  }
  return { code: await within(closed, 'close'), sent };
}

/** Runs fuzz sessions on WORKERS concurrent connections until `target` frames were sent. */
async function fuzz(
  rand: (n: number) => number,
  target: number,
): Promise<{ sent: number; codes: Map<number, number> }> {
  let sent = 0;
  const codes = new Map<number, number>();
  const worker = async (): Promise<void> => {
    while (sent < target) {
      const ip = `10.${rand(256)}.${rand(256)}.${1 + rand(254)}`;
      const result = await session(fuzzSession(rand, MAX_MESSAGE), ip, () => rand(3) === 0);
      sent += result.sent;
      codes.set(result.code, (codes.get(result.code) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  return { sent, codes };
}

describe('relay fuzz', () => {
  it('survives >10,000 hostile frames with defined close codes, unaffected rooms, and bookkeeping back to zero', async () => {
    const rand = prng(SEED);
    const bystanders = await pipe(url);
    const { sent, codes } = await fuzz(rand, 10_000);
    const end = await scrape();
    console.log(`fuzz (seed ${SEED}): ${sent} frames; closes ${JSON.stringify(Object.fromEntries(codes))}`);
    expect(sent).toBeGreaterThanOrEqual(10_000);
    expect(child.exitCode).toBeNull();
    for (const code of codes.keys()) expect(DEFINED_CLOSES.has(code), `close code ${code}`).toBe(true);
    // Many distinct rejections happened, not just one kind.
    expect(codes.get(4001)).toBeGreaterThan(100);
    for (const reason of ['bad_message', 'too_big']) {
      expect(metricValue(end.text, `portunus_relay_rejections_total{reason="${reason}"}`)).toBeGreaterThan(10);
    }
    expect(end.burned).toBeLessThanOrEqual(MAX_NAMEPLATES);

    // The pair that stayed connected during the fuzz still works, both ways, messages and data.
    const { a, b } = bystanders;
    a.json({ type: 'msg', body: 'c3RpbGwgaGVyZQ' });
    expect(await b.expect('msg')).toEqual({ type: 'msg', body: 'c3RpbGwgaGVyZQ' });
    b.ws.send(Buffer.alloc(10_000, 3));
    await a.until(() => a.binaryBytes === 10_000, 'bystander data');

    // A normal pairing from an address the fuzz never used.
    const fresh = await pair(url);
    fresh.b.json({ type: 'msg', body: 'AA' });
    expect(await fresh.a.expect('msg')).toEqual({ type: 'msg', body: 'AA' });
    fresh.a.close();
    fresh.b.close();
    a.close();
    b.close();
    // Once everyone has left, nothing is kept but the remembered burns (bounded by --max-nameplates).
    await within(
      (async () => {
        for (;;) {
          const { connections, nameplates } = await scrape();
          if (connections === 0 && nameplates === 0) return;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })(),
      'every connection and nameplate to be gone',
    );
    expect((await scrape()).burned).toBeLessThanOrEqual(MAX_NAMEPLATES);
    expect(stderr).not.toMatch(/error|exception/i);
  });
});
