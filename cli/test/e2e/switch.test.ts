/**
 * Switching paths mid-transfer end to end (PROTOCOL.md §14): real `portunus relay`, `send` and `receive` processes
 * on 127.0.0.1 with `--transport auto`. The test-only hooks (PORTUNUS_TEST_*, sender only) make the move happen at a
 * known point: a direct path held back until 30% is acknowledged, or a path killed at 30%. Every wait is on process
 * output or exit; every transfer ends with the SHA-256 of the received file equal to the source's.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, useRelayWorld, type Proc } from './harness.js';

const world = useRelayWorld({ beforeAll, afterAll });
const SIZE = 100 * 1000 * 1000;
const AT_30 = 0.3 * SIZE;
let content: Buffer;
let digest: string;
let runs = 0;

beforeAll(async () => {
  content = randomBytes(SIZE);
  digest = createHash('sha256').update(content).digest('hex');
});

interface Run {
  sender: Proc;
  receiver: Proc;
  dst: string;
}

/** Starts a transfer of the 100 MB file, `env` for the sender only (the hooks are the sender's). */
async function start(env: Record<string, string>): Promise<Run> {
  const dir = join(world.tmp, `switch${runs++}`);
  await mkdir(join(dir, 'src'), { recursive: true });
  await mkdir(join(dir, 'dst'), { recursive: true });
  await writeFile(join(dir, 'src', 'data.bin'), content);
  const sender = runPortunus(['send', '--json', '--relay', world.relay.url, '--transport', 'auto', 'data.bin'], { cwd: join(dir, 'src'), env });
  const code = String((await sender.waitEvent('code')).code);
  const receiver = runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url, '--transport', 'auto', code], { cwd: join(dir, 'dst') });
  return { sender, receiver, dst: join(dir, 'dst') };
}

/** Both exit 0, the file arrived whole (SHA-256 of the bytes on disk) and nothing else is left beside it. */
async function expectIntact(run: Run): Promise<void> {
  const [sc, rc] = await Promise.all([exitOf(run.sender, 90_000), exitOf(run.receiver, 90_000)]);
  expect([sc, rc], run.receiver.stderr() + run.sender.stderr()).toEqual([0, 0]);
  expect(createHash('sha256').update(await readFile(join(run.dst, 'data.bin'))).digest('hex')).toBe(digest);
  expect(await readdir(run.dst)).toEqual(['data.bin']);
  for (const p of [run.sender, run.receiver]) expect(p.events().find((e) => e.event === 'done')).toMatchObject({ bytes: SIZE, sha256: digest });
}

const moves = (p: Proc) => p.events().filter((e) => e.event === 'transport');

describe('switching paths mid-transfer (--transport auto)', () => {
  it('starts on the relay and moves to TCP mid-transfer when it comes up, reporting the switch on both sides', async () => {
    const run = await start({ PORTUNUS_TEST_DIRECT_AFTER_BYTES: String(AT_30) });
    await expectIntact(run);
    for (const p of [run.sender, run.receiver]) {
      expect(p.events().find((e) => e.event === 'connected')).toEqual({ event: 'connected', transport: 'relay' });
      const first = moves(p)[0];
      expect(first).toMatchObject({ event: 'transport', from: 'relay', to: 'tcp' });
      // Mid-transfer: the relay carried at least the first 30%, and the move came before the end.
      expect(first!.bytes).toBeGreaterThanOrEqual(AT_30 * 0.9);
      expect(first!.bytes).toBeLessThan(SIZE);
    }
    expect(moves(run.sender)[0]).toMatchObject({ reason: 'probe' });
    // Hysteresis: relay → tcp, at most one move back, and WebRTC is probed at most once.
    expect(moves(run.sender).length).toBeLessThanOrEqual(3);
  });

  it('the relay data path dies after 30%: the transfer continues on the direct path from the last ack', async () => {
    const run = await start({ PORTUNUS_TEST_DIRECT_AFTER_BYTES: String(0.6 * SIZE), PORTUNUS_TEST_KILL_PATH: `relay:${AT_30}` });
    await expectIntact(run);
    const move = moves(run.sender)[0];
    expect(move).toMatchObject({ from: 'relay', reason: 'failover' });
    expect(['tcp', 'webrtc']).toContain(move!.to);
    expect(move!.bytes).toBeGreaterThanOrEqual(AT_30);
    expect(move!.bytes).toBeLessThan(SIZE);
    // The relay is never used again: a dead path does not come back.
    expect(moves(run.sender).some((e) => e.to === 'relay')).toBe(false);
    expect(moves(run.receiver)[0]).toMatchObject({ from: 'relay', to: move!.to });
  });

  it('the TCP path dies mid-transfer: the transfer continues on the relay from the last ack', async () => {
    // TCP takes the data at 10% and is killed at 30%, inside its 500 ms probe, so it is carrying when it dies.
    const run = await start({ PORTUNUS_TEST_DIRECT_AFTER_BYTES: String(0.1 * SIZE), PORTUNUS_TEST_KILL_PATH: `tcp:${AT_30}` });
    await expectIntact(run);
    const sent = moves(run.sender);
    expect(sent[0]).toMatchObject({ from: 'relay', to: 'tcp', reason: 'probe' });
    expect(sent[1]).toMatchObject({ from: 'tcp', to: 'relay', reason: 'failover' });
    expect(sent[1]!.bytes).toBeGreaterThanOrEqual(AT_30);
    expect(sent[1]!.bytes).toBeLessThan(SIZE);
    expect(sent.some((e, i) => i > 1 && e.to === 'tcp')).toBe(false);
    const got = moves(run.receiver);
    expect(got.slice(0, 2)).toMatchObject([
      { from: 'relay', to: 'tcp' },
      { from: 'tcp', to: 'relay' },
    ]);
  });

  it('killing the sender after a switch: the receiver fails and leaves no partial file', async () => {
    const run = await start({ PORTUNUS_TEST_DIRECT_AFTER_BYTES: String(0.1 * SIZE) });
    await run.receiver.waitEvent('transport', { timeoutMs: 30_000 });
    run.sender.child.kill('SIGKILL');
    expect(await exitOf(run.receiver)).toBe(7);
    expect(await readdir(run.dst)).toEqual([]);
  });

  it('--transport relay on one side: no switching, the data stays on the relay', async () => {
    const dir = join(world.tmp, `switch${runs++}`);
    await mkdir(join(dir, 'src'), { recursive: true });
    await mkdir(join(dir, 'dst'), { recursive: true });
    await writeFile(join(dir, 'src', 'data.bin'), content.subarray(0, 5_000_000));
    const sender = runPortunus(['send', '--json', '--relay', world.relay.url, 'data.bin'], { cwd: join(dir, 'src') });
    const code = String((await sender.waitEvent('code')).code);
    const receiver = runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url, '--transport', 'relay', code], { cwd: join(dir, 'dst') });
    expect([await exitOf(sender), await exitOf(receiver)]).toEqual([0, 0]);
    for (const p of [sender, receiver]) {
      expect(moves(p)).toEqual([]);
      expect(p.events().find((e) => e.event === 'done')).toMatchObject({ transport: 'relay' });
    }
  });
});
