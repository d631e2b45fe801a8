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
import { enginePairs } from '../transport/engines.js';
import { exitOf, runPortunus, startRelayProcess, useRelayWorld, type Proc } from './harness.js';

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

/** Starts a transfer of the 100 MB file, `env` for the sender (the hooks are the sender's), `receiverEnv` for the receiver. */
async function start(env: Record<string, string>, relayUrl = world.relay.url, extra: string[] = [], receiverEnv: Record<string, string> = {}): Promise<Run> {
  const dir = join(world.tmp, `switch${runs++}`);
  await mkdir(join(dir, 'src'), { recursive: true });
  await mkdir(join(dir, 'dst'), { recursive: true });
  await writeFile(join(dir, 'src', 'data.bin'), content);
  const sender = runPortunus(['send', '--json', '--relay', relayUrl, '--transport', 'auto', ...extra, 'data.bin'], { cwd: join(dir, 'src'), env });
  const code = String((await sender.waitEvent('code')).code);
  const receiver = runPortunus(['receive', '--json', '--yes', '--relay', relayUrl, '--transport', 'auto', code], { cwd: join(dir, 'dst'), env: receiverEnv });
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

/** Waits for a progress event at or past `bytes` (progress is event-driven output; no sleeping). */
function waitProgress(p: Proc, bytes: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => (clearInterval(poll), reject(new Error(`no progress past ${bytes}: ${p.stderr()}`))), 30_000);
    const check = () => {
      if (p.events().some((e) => e.event === 'progress' && Number(e.bytes) >= bytes)) {
        clearTimeout(timer);
        clearInterval(poll);
        resolve();
      }
    };
    const poll = setInterval(check, 5);
    p.child.stdout!.on('data', check);
  });
}

const moves = (p: Proc) => p.events().filter((e) => e.event === 'transport');

describe('switching paths mid-transfer (--transport auto)', () => {
  it('starts on the relay and moves to TCP mid-transfer when it comes up, reporting the switch on both sides', async () => {
    const run = await start({ PORTUNUS_TEST_DIRECT_AFTER_BYTES: String(AT_30) });
    await expectIntact(run);
    for (const p of [run.sender, run.receiver]) {
      expect(p.events().find((e) => e.event === 'connected')).toEqual({ event: 'connected', transport: 'relay' });
      // (Should WebRTC come up before TCP it is probed first; then TCP's move is the next one off the relay.)
      const first = moves(p).find((e) => e.to === 'tcp');
      expect(first).toMatchObject({ event: 'transport', from: 'relay', to: 'tcp' });
      // Mid-transfer: the relay carried at least the first 30%, and the move came before the end.
      expect(first!.bytes).toBeGreaterThanOrEqual(AT_30 * 0.9);
      expect(first!.bytes).toBeLessThan(SIZE);
    }
    expect(moves(run.sender).find((e) => e.to === 'tcp')).toMatchObject({ reason: 'probe' });
    // Hysteresis: each path probed at most once, at most one move back per probe: at most 4 moves for 3 paths.
    expect(moves(run.sender).length).toBeLessThanOrEqual(4);
    expect(moves(run.sender).filter((e) => e.to === 'tcp' && e.reason === 'probe')).toHaveLength(1);
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

  it('the relay process is killed after 30%: the data and the receipts go on over the direct path', async () => {
    const relay = await startRelayProcess();
    try {
      // The direct path is held back (sender) so the relay carries the data when it dies; smaller frames slow the
      // relay enough for a progress event to land between 30% and the hold.
      const run = await start({ PORTUNUS_TEST_DIRECT_AFTER_BYTES: String(0.95 * SIZE) }, relay.url, ['--chunk-size', '65536']);
      await waitProgress(run.receiver, AT_30);
      relay.proc.child.kill('SIGKILL');
      await expectIntact(run);
      const move = moves(run.sender)[0];
      expect(move, run.receiver.stdout()).toMatchObject({ from: 'relay', reason: 'failover' });
      expect(move!.bytes).toBeGreaterThanOrEqual(AT_30);
      expect(move!.bytes).toBeLessThan(SIZE);
    } finally {
      await relay.stop();
    }
  });

  it('the TCP path dies mid-transfer: the transfer continues on the relay from the last ack', async () => {
    // TCP takes the data at 10% and is killed at 30%, inside its 500 ms probe, so it is carrying when it dies.
    const run = await start({ PORTUNUS_TEST_DIRECT_AFTER_BYTES: String(0.1 * SIZE), PORTUNUS_TEST_KILL_PATH: `tcp:${AT_30}` });
    await expectIntact(run);
    // (WebRTC may come up first and be probed before TCP; the assertions are about TCP's stint.)
    const sent = moves(run.sender);
    const onTcp = sent.findIndex((e) => e.to === 'tcp');
    expect(sent[onTcp]).toMatchObject({ from: 'relay', reason: 'probe' });
    expect(sent[onTcp + 1]).toMatchObject({ from: 'tcp', to: 'relay', reason: 'failover' });
    expect(sent[onTcp + 1]!.bytes).toBeGreaterThanOrEqual(AT_30);
    expect(sent[onTcp + 1]!.bytes).toBeLessThan(SIZE);
    expect(sent.slice(onTcp + 1).some((e) => e.to === 'tcp')).toBe(false);
    const got = moves(run.receiver);
    const gotTcp = got.findIndex((e) => e.to === 'tcp');
    expect(got.slice(gotTcp, gotTcp + 2)).toMatchObject([
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

/**
 * The same moves onto and off a WebRTC path, once per engine pair (werift, libdatachannel where it loads, and one of
 * each). TCP is left out (PORTUNUS_TEST_DIRECT_PATHS=webrtc), and the sender waits at 10% until WebRTC is up
 * (PORTUNUS_TEST_WAIT_DIRECT_AT_BYTES), so the relay is still carrying when the slower-to-connect path arrives.
 */
const ENGINE_PAIRS = await enginePairs('switching onto libdatachannel');
const AT_10 = 0.1 * SIZE;

describe.each(ENGINE_PAIRS)('switching onto and off WebRTC mid-transfer, $send → $receive', (engines) => {
  const startWebRtc = (hooks: Record<string, string>) =>
    start(
      { PORTUNUS_TEST_DIRECT_PATHS: 'webrtc', PORTUNUS_TEST_WAIT_DIRECT_AT_BYTES: String(AT_10), PORTUNUS_WEBRTC_ENGINE: engines.send, ...hooks },
      world.relay.url,
      [],
      { PORTUNUS_WEBRTC_ENGINE: engines.receive },
    );

  it('starts on the relay and moves to WebRTC when it comes up', async () => {
    const run = await startWebRtc({});
    await expectIntact(run);
    const sent = moves(run.sender);
    const onto = sent.find((e) => e.to === 'webrtc');
    expect(onto, run.sender.stdout()).toMatchObject({ from: 'relay', reason: 'probe' });
    expect(onto!.bytes).toBeGreaterThanOrEqual(AT_10);
    expect(onto!.bytes).toBeLessThan(SIZE);
    expect(moves(run.receiver).find((e) => e.to === 'webrtc')).toMatchObject({ from: 'relay' });
    expect(sent.some((e) => e.to === 'tcp')).toBe(false);
  });

  it('the WebRTC path dies while carrying: the transfer continues on the relay from the last ack', async () => {
    // WebRTC takes the data at 10% and is killed 1 MB later (acknowledged), inside its 500 ms probe: a new
    // association is still in slow start then, and werift may move only a few MB in it.
    const killAt = AT_10 + 1_000_000;
    const run = await startWebRtc({ PORTUNUS_TEST_KILL_PATH: `webrtc:${killAt}` });
    await expectIntact(run);
    const sent = moves(run.sender);
    const onto = sent.findIndex((e) => e.to === 'webrtc');
    expect(sent[onto], run.sender.stdout()).toMatchObject({ from: 'relay', reason: 'probe' });
    expect(sent[onto + 1]).toMatchObject({ from: 'webrtc', to: 'relay', reason: 'failover' });
    expect(sent[onto + 1]!.bytes).toBeGreaterThanOrEqual(killAt);
    expect(sent.slice(onto + 1).some((e) => e.to === 'webrtc')).toBe(false);
    const got = moves(run.receiver);
    const gotOnto = got.findIndex((e) => e.to === 'webrtc');
    expect(got.slice(gotOnto, gotOnto + 2)).toMatchObject([
      { from: 'relay', to: 'webrtc' },
      { from: 'webrtc', to: 'relay' },
    ]);
  });
});
