/**
 * Resuming after a process died (PROTOCOL.md §4.12), end to end: real `portunus relay`, `send` and `receive`
 * processes on 127.0.0.1. The first run is stopped at a known point by the harness alone: a proxy in front of the
 * relay drops every data frame past half the file, the test watches the receiver's resume state (fs.watch, no
 * sleeps) until it records nearly that half, then kills a process with SIGKILL. The second run, straight to the
 * relay, must finish with the right SHA-256 while moving at most 55% of the bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterDataBytes, RelayProxy } from './faults.js';
import { exitOf, runPortunus, type Proc, useRelayWorld } from './harness.js';
import { stateReaches } from './resume-watch.js';

const world = useRelayWorld({ beforeAll, afterAll });
const SIZE = 64 * 1024 * 1024;
/** The first run's data stops here (the proxy drops every data frame after it). */
const HALF = SIZE / 2;
/** What the receiver's state must record before the kill: the half, less a checkpoint and a frame. */
const KILL_AT = HALF - 3 * 1024 * 1024;
const NAME = 'data.bin';
let content: Buffer;
let digest: string;
let runs = 0;

beforeAll(async () => {
  content = randomBytes(SIZE);
  digest = createHash('sha256').update(content).digest('hex');
});

interface Dirs {
  src: string;
  dst: string;
}

async function dirs(): Promise<Dirs> {
  const dir = join(world.tmp, `resume${runs++}`);
  const d = { src: join(dir, 'src'), dst: join(dir, 'dst') };
  await mkdir(d.src, { recursive: true });
  await mkdir(d.dst, { recursive: true });
  await writeFile(join(d.src, NAME), content);
  return d;
}

interface Run {
  sender: Proc;
  receiver: Proc;
}

/**
 * A send and a receive of data.bin meeting at `relay`, the data on `transport` (default: the relay); with `code`, a
 * pre-agreed one (PORTUNUS_CODE).
 */
async function transfer(
  d: Dirs,
  relay: string,
  opts: { code?: string; receiveArgs?: string[]; transport?: 'relay' | 'tcp' } = {},
): Promise<Run> {
  const common = ['--json', '--relay', relay, '--transport', opts.transport ?? 'relay'];
  const env = opts.code === undefined ? {} : { PORTUNUS_CODE: opts.code };
  const sender = runPortunus(['send', ...common, NAME], { cwd: d.src, env });
  const code = opts.code ?? String((await sender.waitEvent('code')).code);
  const receiver = runPortunus(['receive', ...common, '--yes', ...(opts.receiveArgs ?? []), code], {
    cwd: d.dst,
    env: opts.code === undefined ? {} : { PORTUNUS_CODE: opts.code },
  });
  return { sender, receiver };
}

/** Runs a first transfer through a proxy that drops the data after HALF, and kills `victim` once half is kept. */
async function interrupted(d: Dirs, victim: 'sender' | 'receiver', code?: string): Promise<void> {
  const proxy = await RelayProxy.start(world.relay.url);
  try {
    proxy.withholdFrames(afterDataBytes(HALF));
    const run = await transfer(d, proxy.url, { code });
    await stateReaches(d.dst, KILL_AT, run.receiver);
    run[victim].child.kill('SIGKILL');
    await run[victim].exited;
    const other = victim === 'sender' ? run.receiver : run.sender;
    // The survivor fails (its peer is gone); a surviving receiver keeps its partial file for the next run.
    expect(await exitOf(other, 60_000)).not.toBe(0);
    if (victim === 'sender') {
      expect(run.receiver.events().find((e) => e.event === 'kept')).toMatchObject({ bytes: expect.any(Number) });
    }
  } finally {
    await proxy.close();
  }
  expect(await readdir(d.dst)).not.toContain(NAME);
}

async function expectWhole(
  run: Run,
  d: Dirs,
): Promise<{ sent: Record<string, unknown>; got: Record<string, unknown> }> {
  const [sc, rc] = await Promise.all([exitOf(run.sender, 120_000), exitOf(run.receiver, 120_000)]);
  expect([sc, rc], run.receiver.stdout() + run.sender.stdout()).toEqual([0, 0]);
  const file = await readFile(join(d.dst, NAME));
  expect(createHash('sha256').update(file).digest('hex')).toBe(digest);
  expect(await readdir(d.dst)).toEqual([NAME]);
  const done = (p: Proc) => p.events().find((e) => e.event === 'done')!;
  const [sent, got] = [done(run.sender), done(run.receiver)];
  for (const e of [sent, got]) expect(e).toMatchObject({ bytes: SIZE, sha256: digest });
  return { sent, got };
}

describe('a re-run continues where a killed run stopped (kill -9, relay path)', () => {
  it.each(['relay', 'tcp'] as const)(
    'kill -9 of the receiver at about half: the next run (new code, data on %s) moves at most 55% of the bytes',
    async (transport) => {
      const d = await dirs();
      await interrupted(d, 'receiver');
      const run = await transfer(d, world.relay.url, { transport });
      const { sent, got } = await expectWhole(run, d);
      const reused = Number(got.reused);
      expect(reused).toBeGreaterThanOrEqual(KILL_AT);
      expect(sent.reused).toBe(reused);
      expect(SIZE - reused).toBeLessThanOrEqual(0.55 * SIZE);
      for (const p of [run.sender, run.receiver]) {
        expect(p.events().find((e) => e.event === 'resume')).toEqual({ event: 'resume', bytes: reused, total: SIZE });
      }
      expect(got.transport).toBe(transport);
    },
  );

  it('kill -9 of the sender, with the same pre-agreed code both times: the re-run resumes too', async () => {
    const d = await dirs();
    const code = '4747-R35-9ME';
    await interrupted(d, 'sender', code);
    const { sent, got } = await expectWhole(await transfer(d, world.relay.url, { code }), d);
    expect(Number(got.reused)).toBeGreaterThanOrEqual(KILL_AT);
    expect(SIZE - Number(sent.reused)).toBeLessThanOrEqual(0.55 * SIZE);
  });

  it('a partial with one byte changed is detected: the transfer starts from zero and the file is right', async () => {
    const d = await dirs();
    await interrupted(d, 'receiver');
    const part = (await readdir(d.dst)).find((n) => n.endsWith('.part'))!;
    const bytes = await readFile(join(d.dst, part));
    bytes.writeUInt8(bytes.readUInt8(1000) ^ 0xff, 1000);
    await writeFile(join(d.dst, part), bytes);
    const run = await transfer(d, world.relay.url);
    const { sent, got } = await expectWhole(run, d);
    expect(got.reused).toBeUndefined();
    expect(sent.reused).toBeUndefined();
    expect(run.receiver.events().find((e) => e.event === 'discarded')).toMatchObject({ reason: 'mismatch' });
    expect(run.receiver.events().find((e) => e.event === 'resume')).toBeUndefined();
  });

  it('--no-resume discards the partial and starts over', async () => {
    const d = await dirs();
    await interrupted(d, 'receiver');
    const run = await transfer(d, world.relay.url, { receiveArgs: ['--no-resume'] });
    const { got } = await expectWhole(run, d);
    expect(got.reused).toBeUndefined();
    expect(run.receiver.events().find((e) => e.event === 'discarded')).toMatchObject({ reason: 'no-resume' });
    expect(run.sender.events().find((e) => e.event === 'resume')).toBeUndefined();
  });
});
