/**
 * The kill -9 matrix at 1 GiB (issue 15): on each path (relay, tcp, webrtc — the default engine: libdatachannel
 * when it loads, else werift), the sender, the receiver or the relay is killed with SIGKILL once the receiver has
 * written about half of a 1 GiB file; running both commands again (a fresh relay after the relay's death) completes
 * with the right SHA-256 while moving at most 55% of the bytes, as its `done` and `resume` events say. Only events
 * are waited on (the receiver's progress, exits), never a clock. The file is made once (AES-CTR keystream: fast,
 * and no two MiB alike), one source for every case; each case's received copy is removed after it.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, startRelayProcess, type Proc, useRelayWorld } from './harness.js';

const world = useRelayWorld({ beforeAll, afterAll });
const SIZE = 1024 * 1024 * 1024;
const HALF = SIZE / 2;
const NAME = 'big.bin';
/** The first run's: short, so the survivors of a dead relay give up soon (the re-run keeps the default). */
const STALL = ['--stall-timeout', '5'];
let src: string;
let digest: string;
let cases = 0;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

beforeAll(async () => {
  src = join(world.tmp, 'matrix-src');
  await mkdir(src, { recursive: true });
  // A seeded keystream: every byte differs from its neighbours a MiB away, so an offset error cannot hide.
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(16 * 1024 * 1024);
  const hash = createHash('sha256');
  const file = await open(join(src, NAME), 'w');
  try {
    for (let at = 0; at < SIZE; at += zeros.length) {
      const block = cipher.update(zeros);
      hash.update(block);
      await file.write(block);
    }
  } finally {
    await file.close();
  }
  digest = hash.digest('hex');
}, 120_000);

type Path = 'relay' | 'tcp' | 'webrtc';
type Victim = 'sender' | 'receiver' | 'relay';

function transfer(relay: string, path: Path, dst: string, code: string, extra: string[] = []) {
  const common = ['--json', '--relay', relay, '--transport', path, ...extra];
  const env = { PORTUNUS_CODE: code };
  return {
    sender: runPortunus(['send', ...common, NAME], { cwd: src, env }),
    receiver: runPortunus(['receive', ...common, '--yes'], { cwd: dst, env }),
  };
}

/** Resolves once `p` reports at least `bytes` of progress; rejects if it exits first. */
function progressReaches(p: Proc, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!p.events().some((e) => e.event === 'progress' && Number(e.bytes) >= bytes)) return;
      off();
      resolve();
    };
    const exited = () => {
      off();
      reject(new Error(`exited before ${bytes} bytes: ${p.stdout()} ${p.stderr()}`));
    };
    const off = () => {
      p.child.stdout!.off('data', check);
      p.child.off('exit', exited);
    };
    p.child.stdout!.on('data', check);
    p.child.once('exit', exited);
    check();
  });
}

/** Both exit 0 with the whole file, its SHA-256 on the disk and in both `done` events, carried on `path`. */
async function expectWhole(run: { sender: Proc; receiver: Proc }, dst: string, path: Path) {
  const [sc, rc] = await Promise.all([exitOf(run.sender, 180_000), exitOf(run.receiver, 180_000)]);
  expect([sc, rc], run.receiver.stdout() + run.sender.stdout()).toEqual([0, 0]);
  const done = (p: Proc) => p.events().find((e) => e.event === 'done')!;
  const [sent, got] = [done(run.sender), done(run.receiver)];
  for (const e of [sent, got]) expect(e).toMatchObject({ bytes: SIZE, sha256: digest, transport: path });
  expect(await readdir(dst)).toEqual([NAME]);
  expect(await sha256File(join(dst, NAME))).toBe(digest);
  return { sent, got };
}

describe('kill -9 at half of 1 GiB, then both commands again', () => {
  const matrix: [Path, Victim][] = (['relay', 'tcp', 'webrtc'] as const).flatMap((path) =>
    (['sender', 'receiver', 'relay'] as const).map((victim): [Path, Victim] => [path, victim]),
  );

  it.each(matrix)(
    'on %s, kill -9 of the %s at half: the file ends whole, a re-run moving at most 55 per cent',
    async (path, victim) => {
      const dst = join(world.tmp, `matrix-${cases++}`);
      await mkdir(dst, { recursive: true });
      const relay = victim === 'relay' ? await startRelayProcess() : undefined;
      try {
        const first = transfer(relay?.url ?? world.relay.url, path, dst, `${5100 + cases * 2}-M7T-R1X`, STALL);
        await progressReaches(first.receiver, HALF);
        if (victim === 'relay') await relay!.stop();
        else first[victim].child.kill('SIGKILL');
        if (victim === 'relay' && path !== 'relay') {
          // A direct path outlives the relay (README "Direct connections"): the first run completes, nothing to resume.
          await expectWhole(first, dst, path);
          return;
        }
        const survivors =
          victim === 'relay' ? [first.sender, first.receiver] : [victim === 'sender' ? first.receiver : first.sender];
        for (const p of survivors) expect(await exitOf(p, 150_000), p.stdout()).not.toBe(0);
        expect(await readdir(dst)).not.toContain(NAME);

        const second = transfer(world.relay.url, path, dst, `${5101 + cases * 2}-M7T-R1X`);
        const { sent, got } = await expectWhole(second, dst, path);
        const reused = Number(got.reused);
        expect(sent.reused).toBe(reused);
        expect(SIZE - reused, `moved ${SIZE - reused} of ${SIZE}`).toBeLessThanOrEqual(0.55 * SIZE);
        for (const p of [second.sender, second.receiver]) {
          expect(p.events().find((e) => e.event === 'resume')).toEqual({ event: 'resume', bytes: reused, total: SIZE });
        }
      } finally {
        await relay?.stop();
        await rm(dst, { recursive: true, force: true });
      }
    },
    360_000,
  );
});
