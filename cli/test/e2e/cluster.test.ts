/**
 * Several relay instances (PROTOCOL.md §12) with real processes: `portunus relay --redis` three times on one real
 * redis-server. A sender on one instance and a receiver on another move a file through the link; an instance killed
 * (SIGKILL) gives its nameplate back once its liveness lapses, while the others keep serving; with Redis gone, a new
 * `portunus send` fails with RELAY_STATE_UNAVAILABLE and the hint.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { redisMissing, startLocalRedis, type LocalRedis } from '../../../test/redis/redis-server.js';
import { exitOf, runPortunus, startRelayProcess, tempDir, TRANSFER_MS, type RelayProc } from './harness.js';

const missing = redisMissing();

/** Allocates a nameplate on `url` with a raw client and leaves; the nameplate, or the error code. */
async function allocateOnce(url: string): Promise<number | string> {
  const ws = new WebSocket(url);
  const replies: Record<string, unknown>[] = [];
  try {
    const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as Record<string, unknown>;
        replies.push(msg);
        if (msg.type === 'welcome') ws.send(JSON.stringify({ type: 'allocate' }));
        if (msg.type === 'allocated' || msg.type === 'error') resolve(msg);
      });
      ws.once('error', reject);
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'hello', protocol: 1, agent: 'test/1' }));
    const msg = await answer;
    return msg.type === 'allocated' ? (msg.nameplate as number) : (msg.code as string);
  } finally {
    ws.close();
  }
}

describe.skipIf(missing !== undefined)('several relay instances, real processes', () => {
  let redis: LocalRedis;
  let relays: RelayProc[] = [];
  let tmp: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    redis = await startLocalRedis();
    tmp = await tempDir();
    relays = await Promise.all([1, 2, 3].map(() => startRelayProcess(['--redis', redis.url])));
  });
  afterAll(async () => {
    await Promise.all(relays.map((relay) => relay.stop()));
    await redis?.close();
    await tmp?.cleanup();
  });

  it('send through one instance, receive through another: the file arrives whole', async () => {
    const [A, B] = relays as [RelayProc, RelayProc];
    const content = randomBytes(3 * 1024 * 1024);
    await mkdir(join(tmp.path, 'src'), { recursive: true });
    await mkdir(join(tmp.path, 'dst'), { recursive: true });
    await writeFile(join(tmp.path, 'src', 'data.bin'), content);
    const sender = runPortunus(['send', '--json', '--transport', 'relay', '--relay', A.url, 'data.bin'], {
      cwd: join(tmp.path, 'src'),
    });
    const code = String((await sender.waitEvent('code')).code);
    const receiver = runPortunus(['receive', '--json', '--yes', '--transport', 'relay', '--relay', B.url, code], {
      cwd: join(tmp.path, 'dst'),
    });
    const [sc, rc] = await Promise.all([exitOf(sender, TRANSFER_MS), exitOf(receiver, TRANSFER_MS)]);
    expect([sc, rc], receiver.stderr()).toEqual([0, 0]);
    expect((await readFile(join(tmp.path, 'dst', 'data.bin'))).equals(content)).toBe(true);
  });

  it('an instance killed: a client linked to it is told (4010), the others keep serving, and its nameplate is free again once its liveness lapses', async () => {
    const [A, , C] = relays as [RelayProc, RelayProc, RelayProc];
    const held = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(C.url);
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as Record<string, unknown>;
        if (msg.type === 'welcome') ws.send(JSON.stringify({ type: 'allocate' }));
        if (msg.type === 'allocated') resolve(msg.nameplate as number);
      });
      ws.on('error', () => {});
      ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: 1, agent: 'test/1' })));
      ws.once('close', () => reject(new Error('closed before allocated')));
    });
    // A claimer on A, linked to C: paired through the link, then told when C dies.
    const claimer = new WebSocket(A.url);
    const claimerClosed = new Promise<{ code: number; error: unknown }>((resolve) => {
      let error: unknown;
      claimer.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as Record<string, unknown>;
        if (msg.type === 'welcome') claimer.send(JSON.stringify({ type: 'claim', nameplate: held }));
        if (msg.type === 'paired') {
          C.proc.child.kill('SIGKILL');
        }
        if (msg.type === 'error') error = msg.code;
      });
      claimer.once('close', (code) => resolve({ code, error }));
    });
    claimer.once('open', () => claimer.send(JSON.stringify({ type: 'hello', protocol: 1, agent: 'test/1' })));
    await C.proc.exited;
    expect(await claimerClosed).toEqual({ code: 4010, error: 'RELAY_SHUTDOWN' });
    // While C's liveness key lives, its nameplate is taken; within 10 s (plus a heartbeat) it is free again.
    const deadline = Date.now() + 30_000;
    let got: number | string = await allocateOnce(A.url);
    expect(typeof got).toBe('number');
    while (got !== held && Date.now() < deadline) {
      // A gentle poll: no event says when a key lapses inside Redis.
      await new Promise((resolve) => setTimeout(resolve, 50));
      got = await allocateOnce(A.url);
    }
    expect(got).toBe(held);
  });

  it('Redis gone: a new send fails with RELAY_STATE_UNAVAILABLE and the hint, exit 6', async () => {
    const [A] = relays as [RelayProc];
    await redis.stop();
    const sender = runPortunus(['send', '--text', 'hello', '--relay', A.url], { cwd: tmp.path });
    expect(await exitOf(sender, TRANSFER_MS)).toBe(6);
    expect(sender.stderr()).toContain("The relay's shared state is unavailable; try again shortly.");
  });
});
