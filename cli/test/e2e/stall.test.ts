/**
 * Every wait ends (issue 12 §1, PROTOCOL.md §4.11): real `portunus send` / `receive` processes meet through
 * a proxy in front of a real relay process, and the proxy stops forwarding mid-transfer while keeping every
 * socket open. Both sides must exit non-zero within the stall timeout plus a margin, with nothing left in the output
 * folder. The margins are loose on purpose: what is tested is that the processes end, not how fast.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterDataBytes, isFinalFrame, RelayProxy, TcpProxy } from './faults.js';
import { exitOf, runPortunus, useRelayWorld, type Proc } from './harness.js';

const world = useRelayWorld({ beforeAll, afterAll });
const STALL_S = 3;
const SIZE = 20 * 1000 * 1000;
/** Exit within the stall timeout plus this much (generous: the machine may be busy). */
const MARGIN_MS = 25_000;
let runs = 0;

interface Stalled {
  sender: Proc;
  receiver: Proc;
  dst: string;
}

async function start(relayUrl: string, extra: string[] = []): Promise<Stalled> {
  const dir = join(world.tmp, `stall${runs++}`);
  await mkdir(join(dir, 'src'), { recursive: true });
  await mkdir(join(dir, 'dst'), { recursive: true });
  await writeFile(join(dir, 'src', 'data.bin'), randomBytes(SIZE));
  const common = ['--json', '--relay', relayUrl, '--transport', 'relay', '--stall-timeout', String(STALL_S), ...extra];
  const sender = runPortunus(['send', ...common, 'data.bin'], { cwd: join(dir, 'src') });
  const code = String((await sender.waitEvent('code')).code);
  const receiver = runPortunus(['receive', ...common, '--yes', code], { cwd: join(dir, 'dst') });
  return { sender, receiver, dst: join(dir, 'dst') };
}

/**
 * Both exit non-zero (exit 7, or 6 for a relay that stopped answering) in time, and nothing is under the file's name:
 * the output folder holds at most the hidden partial and its resume state, for a later run (PROTOCOL.md §4.12).
 */
async function expectBothGiveUp(run: Stalled, since: number): Promise<void> {
  const [sc, rc] = await Promise.all([exitOf(run.sender, 90_000), exitOf(run.receiver, 90_000)]);
  expect(performance.now() - since, 'both exited within the stall timeout plus the margin').toBeLessThan(
    STALL_S * 1000 + MARGIN_MS,
  );
  for (const [code, p] of [
    [sc, run.sender],
    [rc, run.receiver],
  ] as const) {
    expect([6, 7], p.stderr() + p.stdout()).toContain(code);
  }
  const left = await readdir(run.dst);
  expect(left.filter((n) => !/^\.data\.bin\.portunus-.*\.(part|resume)$/.test(n))).toEqual([]);
}

describe('a relay path that stops moving (the proxy keeps every socket open)', () => {
  it('a network partition (a TCP proxy stops moving bytes): both sides exit non-zero, nothing in place', async () => {
    const port = Number(new URL(world.relay.url).port);
    const proxy = await TcpProxy.start(port, { stopAfter: SIZE / 4 });
    try {
      const run = await start(`ws://127.0.0.1:${proxy.port}/v1`);
      const since = performance.now();
      await expectBothGiveUp(run, since);
      expect(run.receiver.stdout()).toMatch(/"error":"(RELAY_UNREACHABLE|INTERRUPTED)"/);
    } finally {
      await proxy.close();
    }
  });

  it('a relay that stops forwarding data but answers pings and passes messages: both exit 7, nothing in place', async () => {
    const proxy = await RelayProxy.start(world.relay.url);
    try {
      proxy.withholdFrames(afterDataBytes(SIZE / 4));
      const run = await start(proxy.url);
      const since = performance.now();
      await expectBothGiveUp(run, since);
      expect(run.sender.stdout()).toMatch(/"error":"INTERRUPTED"/);
    } finally {
      await proxy.close();
    }
  });

  it('a relay that withholds only the FINAL frame: both exit 7, nothing in place', async () => {
    const proxy = await RelayProxy.start(world.relay.url);
    try {
      proxy.withholdFrames(isFinalFrame);
      const run = await start(proxy.url);
      const since = performance.now();
      await expectBothGiveUp(run, since);
      expect(run.sender.stdout()).toMatch(/"error":"INTERRUPTED"/);
      expect(run.receiver.stdout()).toMatch(/"error":"(INTERRUPTED|PEER_FAILED)"/);
    } finally {
      await proxy.close();
    }
  });
});
