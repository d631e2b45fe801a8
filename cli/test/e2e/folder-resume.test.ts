/**
 * A folder, or several paths, resumes file by file after a process died (PROTOCOL.md §4.12): real `portunus relay`,
 * `send` and `receive` processes. As in resume.test.ts the first run is stopped by the harness alone: a proxy drops
 * the data past half the tar, the test watches the receiver's state until it records nearly that half (fs.watch,
 * no sleeps) and kills a process with SIGKILL. The re-run must rebuild the same tree, moving at most 55% of the
 * bytes; a kept file edited in between, or a sent file changed, makes it start over with the right result.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterDataBytes, RelayProxy } from './faults.js';
import { exitOf, runPortunus, type Proc, useRelayWorld } from './harness.js';
import { recorded, stateReaches } from './resume-watch.js';

const world = useRelayWorld({ beforeAll, afterAll });
const MiB = 1024 * 1024;
/** photos/: a.txt, b.bin (40 MiB), z.txt, sub/c.bin (20 MiB), sub/link → ../a.txt; the half lands inside b.bin. */
const FILES: [string, Buffer][] = [
  ['a.txt', Buffer.from('the first file\n')],
  ['b.bin', randomBytes(40 * MiB)],
  ['z.txt', randomBytes(3000)],
  ['sub/c.bin', randomBytes(20 * MiB)],
];
const TAR_SIZE = 60 * MiB + 7 * 1024;
/** The first run's data stops about here (the proxy counts frames), and the kill waits for this much recorded. */
const HALF = 31 * MiB;
const KILL_AT = HALF - 3 * MiB;
let runs = 0;

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

interface Dirs {
  src: string;
  dst: string;
}

async function dirs(): Promise<Dirs> {
  const dir = join(world.tmp, `folder-resume${runs++}`);
  const d = { src: join(dir, 'src'), dst: join(dir, 'dst') };
  await mkdir(join(d.src, 'photos', 'sub'), { recursive: true });
  await mkdir(d.dst, { recursive: true });
  for (const [name, data] of FILES) await writeFile(join(d.src, 'photos', name), data);
  await symlink('../a.txt', join(d.src, 'photos', 'sub', 'link'));
  await writeFile(join(d.src, 'notes.txt'), 'a loose file\n');
  return d;
}

interface Run {
  sender: Proc;
  receiver: Proc;
}

function transfer(d: Dirs, relay: string, paths: string[], code: string): Run {
  const common = ['--json', '--relay', relay, '--transport', 'relay'];
  const env = { PORTUNUS_CODE: code };
  const sender = runPortunus(['send', ...common, ...paths], { cwd: d.src, env });
  const receiver = runPortunus(['receive', ...common, '--yes'], { cwd: d.dst, env });
  return { sender, receiver };
}

async function interrupted(d: Dirs, paths: string[], victim: 'sender' | 'receiver', code: string): Promise<void> {
  const proxy = await RelayProxy.start(world.relay.url);
  try {
    proxy.withholdFrames(afterDataBytes(HALF));
    const run = transfer(d, proxy.url, paths, code);
    await stateReaches(d.dst, KILL_AT, run.receiver);
    run[victim].child.kill('SIGKILL');
    await run[victim].exited;
    const other = victim === 'sender' ? run.receiver : run.sender;
    expect(await exitOf(other, 60_000)).not.toBe(0);
  } finally {
    await proxy.close();
  }
  expect((await readdir(d.dst)).filter((n) => !n.startsWith('.'))).toEqual([]);
}

async function finished(run: Run): Promise<{ sent: Record<string, unknown>; got: Record<string, unknown> }> {
  const [sc, rc] = await Promise.all([exitOf(run.sender, 120_000), exitOf(run.receiver, 120_000)]);
  expect([sc, rc], run.receiver.stdout() + run.sender.stdout()).toEqual([0, 0]);
  const done = (p: Proc) => p.events().find((e) => e.event === 'done')!;
  const [sent, got] = [done(run.sender), done(run.receiver)];
  expect(got.sha256).toBe(sent.sha256);
  expect(got.files).toEqual(sent.files);
  return { sent, got };
}

/** photos/ landed whole, and nothing else is left beside it but `also`. */
async function expectPhotos(dst: string, also: string[] = []): Promise<void> {
  expect((await readdir(dst)).sort()).toEqual(['photos', ...also].sort());
  for (const [name, data] of FILES) expect(sha256(await readFile(join(dst, 'photos', name)))).toBe(sha256(data));
  expect(await readlink(join(dst, 'photos', 'sub', 'link'))).toBe('../a.txt');
}

function expectManifest(got: Record<string, unknown>): void {
  const files = (got.files as { name: string; sha256: string }[]).filter((f) => f.name.startsWith('photos/'));
  expect(files).toEqual(
    FILES.map(([name, data]) => ({ name: `photos/${name}`, bytes: data.length, sha256: sha256(data) })),
  );
}

describe('a folder or several paths resume file by file (kill -9, relay path)', () => {
  it('kill -9 of the receiver in the middle of a file: the re-run keeps what is whole, continues that file', async () => {
    const d = await dirs();
    await interrupted(d, ['photos'], 'receiver', '4801-R35-9ME');
    const run = transfer(d, world.relay.url, ['photos'], '4802-R35-9ME');
    const { sent, got } = await finished(run);
    await expectPhotos(d.dst);
    expectManifest(got);
    const reused = Number(got.reused);
    expect(reused).toBeGreaterThanOrEqual(KILL_AT);
    expect(sent.reused).toBe(reused);
    expect(Number(got.bytes) - reused).toBeLessThanOrEqual(0.55 * Number(got.bytes));
    for (const p of [run.sender, run.receiver]) {
      expect(p.events().find((e) => e.event === 'resume')).toMatchObject({ bytes: reused });
    }
    // Before it asked, the receiver said how much was there.
    expect(run.receiver.events().find((e) => e.event === 'offer')).toMatchObject({ kind: 'folder', held: reused });
  });

  it('kill -9 of the sender of a file and a folder, the same code both times: the re-run resumes', async () => {
    const d = await dirs();
    const code = '4803-R35-9ME';
    await interrupted(d, ['notes.txt', 'photos'], 'sender', code);
    const { sent, got } = await finished(transfer(d, world.relay.url, ['notes.txt', 'photos'], code));
    await expectPhotos(d.dst, ['notes.txt']);
    expect(await readFile(join(d.dst, 'notes.txt'), 'utf8')).toBe('a loose file\n');
    expectManifest(got);
    expect(Number(got.reused)).toBeGreaterThanOrEqual(KILL_AT);
    expect(Number(sent.bytes) - Number(sent.reused)).toBeLessThanOrEqual(0.55 * TAR_SIZE);
  });

  it('a kept file edited before the re-run: the part is not used, the folder comes whole and right', async () => {
    const d = await dirs();
    await interrupted(d, ['photos'], 'receiver', '4804-R35-9ME');
    const part = (await readdir(d.dst)).find((n) => n.endsWith('.part'))!;
    await writeFile(join(d.dst, part, 'a.txt'), 'edited\n');
    const run = transfer(d, world.relay.url, ['photos'], '4805-R35-9ME');
    const { got } = await finished(run);
    await expectPhotos(d.dst);
    expect(got.reused).toBeUndefined();
    expect(run.receiver.events().find((e) => e.event === 'discarded')).toMatchObject({ reason: 'changed' });
  });

  it('a sent file changed before the re-run: the claim does not match, the folder comes whole and right', async () => {
    const d = await dirs();
    await interrupted(d, ['photos'], 'receiver', '4806-R35-9ME');
    // The same size: the offer is the same, the tar is not.
    FILES[0] = ['a.txt', Buffer.from('the first file\r')];
    await writeFile(join(d.src, 'photos', 'a.txt'), FILES[0][1]);
    const run = transfer(d, world.relay.url, ['photos'], '4807-R35-9ME');
    const { got } = await finished(run);
    await expectPhotos(d.dst);
    expect(got.reused).toBeUndefined();
    expect(run.receiver.events().find((e) => e.event === 'discarded')).toMatchObject({ reason: 'mismatch' });
  });
});
