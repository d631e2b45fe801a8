/**
 * The direct path end to end with each WebRTC engine on each side (PORTUNUS_WEBRTC_ENGINE set per process): real
 * `portunus send` / `receive` processes through a real relay process, `--transport webrtc`, each checking the engine
 * each side reports (--verbose), the received SHA-256, and that both processes exit by themselves (libdatachannel's
 * native threads must not keep a process alive). The libdatachannel cases are skipped, with the reason printed,
 * where node-datachannel does not load.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebRtcEngineName } from '../../src/transport/webrtc-engine.js';
import { libdatachannelMissing } from '../transport/engines.js';
import { exitOf, ROOT, runPortunus, TRANSFER_MS, useRelayWorld, type Proc } from './harness.js';

const world = useRelayWorld({ beforeAll, afterAll });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const unloadable = await libdatachannelMissing('the libdatachannel end-to-end cases');
/**
 * Hang detectors, not timings: a transfer here takes a few seconds, even on a loaded machine; a process that does not
 * exit after it is stuck, however long one waits. Together they stay under the suite's test timeout.
 */
const STARTUP_MS = 30_000;
/** --direct-timeout: with --transport webrtc there is no fallback, so a long one only bounds a failure. */
const DIRECT_TIMEOUT_S = 60;

let runs = 0;

async function transfer(
  engines: { send: WebRtcEngineName | 'auto'; receive: WebRtcEngineName | 'auto' },
  content: Buffer,
) {
  const dir = join(world.tmp, `engines${runs++}`);
  await mkdir(join(dir, 'src'), { recursive: true });
  await mkdir(join(dir, 'dst'), { recursive: true });
  await writeFile(join(dir, 'src', 'data.bin'), content);
  const code = `${40 + runs}-H7K-29A`;
  const common = [
    '--verbose',
    '--relay',
    world.relay.url,
    '--transport',
    'webrtc',
    '--direct-timeout',
    String(DIRECT_TIMEOUT_S),
  ];
  const run = (args: string[], role: 'send' | 'receive') =>
    runPortunus(args, {
      cwd: join(dir, role === 'send' ? 'src' : 'dst'),
      env: { PORTUNUS_CODE: code, PORTUNUS_WEBRTC_ENGINE: engines[role] },
    });
  const sender = run(['send', ...common, '--no-qr', 'data.bin'], 'send');
  // Human output: the code goes to stderr; waiting for it means the sender holds the nameplate.
  await waitFor(sender, (text) => text.includes(code));
  const receiver = run(['receive', ...common, '--yes', '-o', 'got.bin'], 'receive');
  const [sc, rc] = await Promise.all([exitOf(sender, TRANSFER_MS), exitOf(receiver, TRANSFER_MS)]);
  const received = rc === 0 ? await readFile(join(dir, 'dst', 'got.bin')) : undefined;
  return { sender, receiver, sc, rc, received };
}

async function waitFor(p: Proc, ok: (stderr: string) => boolean, ms = STARTUP_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok(p.stderr())) {
    if (Date.now() > deadline) throw new Error(`timed out; stderr: ${p.stderr().slice(-500)}`);
    await Promise.race([p.exited, new Promise((resolve) => p.child.stderr!.once('data', resolve))]);
  }
}

const engineOf = (p: Proc) => /\[debug\] WebRTC engine: (\w+)/.exec(p.stderr())?.[1];

const CASES: [WebRtcEngineName, WebRtcEngineName][] = [
  ['libdatachannel', 'libdatachannel'],
  ['werift', 'libdatachannel'],
  ['libdatachannel', 'werift'],
  ['werift', 'werift'],
];

describe('direct path end to end, per WebRTC engine', () => {
  for (const [send, receive] of CASES) {
    const needsNative = send === 'libdatachannel' || receive === 'libdatachannel';
    const name = `sender ${send}, receiver ${receive}: the data goes direct, intact, and both processes exit`;
    it.skipIf(needsNative && unloadable !== undefined)(name, async () => {
      const content = randomBytes(3 * 1000 * 1000 + 17);
      const t = await transfer({ send, receive }, content);
      expect(
        [t.sc, t.rc],
        `sender: ${t.sender.stderr().slice(-400)}\nreceiver: ${t.receiver.stderr().slice(-400)}`,
      ).toEqual([0, 0]);
      expect(sha256(t.received!)).toBe(sha256(content));
      expect([engineOf(t.sender), engineOf(t.receiver)]).toEqual([send, receive]);
      for (const p of [t.sender, t.receiver])
        expect(p.stderr()).toMatch(/direct connection open and bound to the session/);
    });
  }

  it.skipIf(unloadable !== undefined)('auto (the default) picks libdatachannel where it loads', async () => {
    const t = await transfer({ send: 'auto', receive: 'auto' }, randomBytes(100_000));
    expect([t.sc, t.rc]).toEqual([0, 0]);
    expect([engineOf(t.sender), engineOf(t.receiver)]).toEqual(['libdatachannel', 'libdatachannel']);
  });
});

/**
 * Both ends of a libdatachannel connection in one plain Node process that never calls process.exit(): it moves a
 * frame, closes both transports and must then end by itself: every callback the native library holds on the event
 * loop must have been released (webrtc-engine.ts, NativeRuntime). The process keeps both transports referenced, so
 * the garbage collector cannot release the library's callbacks either: a callback left behind holds the process
 * forever (released by the collector it would only take a few seconds, which no test can tell from a busy machine).
 */
const SELF_EXIT = `
import { connectWebRtc } from './cli/src/transport/webrtc-connect.ts';
const boxes = { send: [], receive: [] };
const waiting = { send: [], receive: [] };
const link = (self, peer) => ({
  sendSignal: async (s) => { boxes[peer].push(s); for (const w of waiting[peer].splice(0)) w(); },
  nextSignal: async (abort) => { while (boxes[self].length === 0) { abort.throwIfAborted(); await new Promise((r) => { waiting[self].push(r); abort.addEventListener('abort', r, { once: true }); }); } return boxes[self].shift(); },
});
const key = new Uint8Array(32).fill(7);
const signal = AbortSignal.timeout(20000);
const side = (role, self, peer) => connectWebRtc({ role, link: link(self, peer), bindingKey: key, iceServers: [], signal, engine: 'libdatachannel' });
const [a, b] = await Promise.all([side('send', 'send', 'receive'), side('receive', 'receive', 'send')]);
await a.send(new Uint8Array(1000));
for await (const frame of b.frames()) { if (frame.length === 1000) break; }
await Promise.all([a.close(), b.close()]);
globalThis.keptAfterClose = [a, b];
console.log('closed');
`;

/** Hang detectors, not timings: each step takes well under a second here, even on a loaded machine. */
const CONNECT_AND_CLOSE_MS = 40_000;
const EXIT_MS = 30_000;

describe.skipIf(unloadable !== undefined)('libdatachannel and the process lifetime', () => {
  it('a process that closed its connections exits by itself (no native callback left holding the event loop)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SELF_EXIT], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const closed = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => ((out += d.toString()), out.includes('closed') && resolve())),
    );
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const bounded = <T>(p: Promise<T>, ms: number) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        p,
        new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms))),
      ]).finally(() => clearTimeout(timer));
    };
    try {
      expect(await bounded(Promise.race([closed, exited]), CONNECT_AND_CLOSE_MS), out).not.toBe('hung');
      expect(out).toContain('closed');
      // Once closed, nothing is left to do: only a callback still held by the native library keeps the process.
      expect(await bounded(exited, EXIT_MS), out).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
