/**
 * Drops end to end through S3 (PROTOCOL.md §11.4): a real `portunus relay --storage s3://bucket/prefix` against a local
 * S3-compatible server started here (test/s3/s3-server.ts: s3rver on 127.0.0.1), real `send --drop` and
 * `receive D-…` processes. 200 MB in and out, SHA-256 compared; then one byte flipped in the bucket's copy.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalS3, type LocalS3 } from '../../../test/s3/s3-server.js';
import { exitOf, runPortunus, startRelayProcess, tempDir, type RelayProc } from './harness.js';

const MB = 1000 * 1000;
const DROP_MS = 180_000;
let s3: LocalS3;
let relay: RelayProc;
let tmp: { path: string; cleanup: () => Promise<void> };
let bucketDir: string;
let runs = 0;

beforeAll(async () => {
  tmp = await tempDir('portunus-drop-s3-');
  bucketDir = join(tmp.path, 's3');
  await mkdir(bucketDir);
  s3 = await startLocalS3(bucketDir);
  relay = await startRelayProcess(['--storage', `s3://${s3.bucket}/e2e/drops`], { env: s3.env });
});

afterAll(async () => {
  await relay?.stop();
  await s3?.close();
  await tmp?.cleanup();
});

async function makeCase(size: number) {
  const dir = join(tmp.path, `case${runs++}`);
  const c = { src: join(dir, 'src'), dst: join(dir, 'dst'), env: { XDG_STATE_HOME: join(dir, 'state') } };
  await mkdir(c.src, { recursive: true });
  await mkdir(c.dst, { recursive: true });
  const content = randomBytes(size);
  await writeFile(join(c.src, 'data.bin'), content);
  return { ...c, digest: createHash('sha256').update(content).digest('hex') };
}

type Case = Awaited<ReturnType<typeof makeCase>>;

async function dropped(c: Case): Promise<string> {
  const sender = runPortunus(['send', '--json', '--drop', '--relay', relay.url, 'data.bin'], {
    cwd: c.src,
    env: c.env,
  });
  expect(await exitOf(sender, DROP_MS), sender.stderr()).toBe(0);
  const done = sender.events().find((e) => e.event === 'done') as { drop: { code: string }; sha256: string };
  expect(done.sha256).toBe(c.digest);
  return done.drop.code;
}

function fetch(c: Case, code: string) {
  return runPortunus(['receive', '--json', '--yes', '--relay', relay.url, code], { cwd: c.dst, env: c.env });
}

/** The files s3rver keeps for the bucket of a size in [min, max]: a stored drop's bytes (its record is far smaller). */
async function storedOfSize(min: number, max: number): Promise<{ path: string; size: number }[]> {
  const found: { path: string; size: number }[] = [];
  for (const name of await readdir(bucketDir, { recursive: true })) {
    const st = await stat(join(bucketDir, name)).catch(() => undefined);
    if (st?.isFile() && st.size >= min && st.size <= max) found.push({ path: join(bucketDir, name), size: st.size });
  }
  return found;
}

describe('drops through S3 storage', () => {
  it('200 MB dropped into the bucket and received later, SHA-256 equal on disk and in `done`', async () => {
    const c = await makeCase(200 * MB);
    const code = await dropped(c);
    const receiver = fetch(c, code);
    expect(await exitOf(receiver, DROP_MS), receiver.stderr()).toBe(0);
    const done = receiver.events().find((e) => e.event === 'done');
    expect(done).toMatchObject({ bytes: 200 * MB, sha256: c.digest });
    const hash = createHash('sha256');
    for await (const chunk of (await open(join(c.dst, 'data.bin'))).createReadStream()) hash.update(chunk as Buffer);
    expect(hash.digest('hex')).toBe(c.digest);
  }, 400_000);

  it('one byte flipped in the bucket: the receiver fails CORRUPT and keeps nothing', async () => {
    const c = await makeCase(3 * MB);
    const code = await dropped(c);
    // 3 MB of data, plus 29 bytes per 1 MiB frame, the offer and the header: within 1 KB above.
    const [stored, ...others] = await storedOfSize(3 * MB, 3 * MB + 1000);
    expect(others).toEqual([]);
    const handle = await open(stored!.path, 'r+');
    const at = Math.floor(stored!.size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0x40;
    await handle.write(byte, 0, 1, at);
    await handle.close();
    const receiver = fetch(c, code);
    expect(await exitOf(receiver, DROP_MS)).toBe(7);
    expect(receiver.events().find((e) => e.event === 'error')?.error).toBe('CORRUPT');
    expect(await readdir(c.dst)).toEqual([]);
  }, 200_000);
});
