/**
 * Drops across relay instances end to end (issue 17, PROTOCOL.md §11.4): two real `portunus relay --redis …
 * --storage DIR` processes sharing a real redis-server and one directory; `send --drop` to one, `receive D-…` from
 * the other; the one-time drop is then gone through the first.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisMissing, startLocalRedis, type LocalRedis } from '../../../test/redis/redis-server.js';
import { exitOf, runPortunus, startRelayProcess, tempDir, type RelayProc } from './harness.js';

const MB = 1000 * 1000;
const DROP_MS = 120_000;
const missing = redisMissing();
if (missing !== undefined) console.warn(`skipping drops across relay instances: ${missing}`);

let redis: LocalRedis;
let relays: RelayProc[] = [];
let tmp: { path: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  if (missing !== undefined) return;
  tmp = await tempDir('portunus-drop-cluster-');
  redis = await startLocalRedis();
  const storage = join(tmp.path, 'storage');
  relays = await Promise.all(
    [0, 1].map(() => startRelayProcess(['--storage', storage, '--redis', redis.url], { env: {} })),
  );
});

afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop()));
  await redis?.close();
  await tmp?.cleanup();
});

describe.skipIf(missing !== undefined)('drops across two relay instances sharing a Redis', () => {
  it('send --drop to one instance, receive from the other; the one-time drop is then gone through the first', async () => {
    const [a, b] = relays as [RelayProc, RelayProc];
    const src = join(tmp.path, 'src');
    const dst = join(tmp.path, 'dst');
    const env = { XDG_STATE_HOME: join(tmp.path, 'state') };
    await mkdir(src);
    await mkdir(dst);
    const content = randomBytes(5 * MB);
    await writeFile(join(src, 'data.bin'), content);
    const digest = createHash('sha256').update(content).digest('hex');

    const sender = runPortunus(['send', '--json', '--drop', '--relay', a.url, 'data.bin'], { cwd: src, env });
    expect(await exitOf(sender, DROP_MS), sender.stderr()).toBe(0);
    const code = (sender.events().find((e) => e.event === 'done') as { drop: { code: string } }).drop.code;

    const receiver = runPortunus(['receive', '--json', '--yes', '--relay', b.url, code], { cwd: dst, env });
    expect(await exitOf(receiver, DROP_MS), receiver.stderr()).toBe(0);
    expect(receiver.events().find((e) => e.event === 'done')).toMatchObject({ bytes: 5 * MB, sha256: digest });
    expect(
      createHash('sha256')
        .update(await readFile(join(dst, 'data.bin')))
        .digest('hex'),
    ).toBe(digest);

    const again = runPortunus(['receive', '--json', '--yes', '--relay', a.url, code], {
      cwd: dst,
      env,
    });
    expect(await exitOf(again, DROP_MS)).toBe(3);
    expect(again.events().find((e) => e.event === 'error')?.error).toBe('DROP_GONE');
  }, 300_000);
});
