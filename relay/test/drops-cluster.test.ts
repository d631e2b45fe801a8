/**
 * Drops across relay instances sharing a Redis (`--redis`, shared-drops.ts): three in-process relays with the same
 * storage (a bucket on a local S3 server, and a directory they all use) and a real redis-server, reached through a
 * TCP proxy the tests can sever (an outage that keeps Redis's data). The whole drop suite (drop-suite.ts) also runs
 * against one relay whose records live in Redis.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RelayConfig } from '../src/config.js';
import { parseS3Spec, s3ClientConfig } from '../src/drop-s3-storage.js';
import { createLogger } from '../src/logger.js';
import type { RelayHandle } from '../src/server.js';
import { DROP_KEY_PREFIX } from '../src/shared-drops.js';
import { redisMissing, startLocalRedis, type LocalRedis } from '../../test/redis/redis-server.js';
import { startLocalS3, type LocalS3 } from '../../test/s3/s3-server.js';
import { TcpSwitch } from './tcp-switch.js';
import {
  createDrop,
  cutPatch,
  dropBytes,
  eventually,
  newDropId,
  patch,
  readPart,
  sha256,
  uploadOffset,
  received,
} from './drop-client.js';
import { dropSuite } from './drop-suite.js';
import { startTestRelay } from './helpers.js';

const missing = redisMissing();
if (missing !== undefined) console.warn(`skipping the drops across instances: ${missing}`);
const KiB = 1024;

let redis: LocalRedis;
let proxy: TcpSwitch;
let admin: Redis;
let s3: LocalS3;
let s3Client: S3Client;
const dirs: string[] = [];

async function newDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portunus-drops-cluster-'));
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  if (missing !== undefined) return;
  redis = await startLocalRedis();
  proxy = await TcpSwitch.start(redis.port);
  admin = new Redis(redis.url);
  s3 = await startLocalS3(await newDir());
  s3Client = new S3Client(s3ClientConfig(s3.env));
});
afterAll(async () => {
  admin?.disconnect();
  s3Client?.destroy();
  await s3?.close();
  await proxy?.close();
  await redis?.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const redisUrl = (): string => `redis://127.0.0.1:${proxy.port}`;

if (missing === undefined)
  dropSuite('a directory, records in a shared Redis', {
    storage: newDir,
    env: {},
    async stored(dir) {
      return (await readdir(join(dir, 'uploads')).catch(() => [])).flat();
    },
    config: () => ({ redis: redisUrl() }),
    reset: async () => void (await admin.flushall()),
  });

interface Kind {
  name: string;
  storage(): Promise<string>;
  env(): Record<string, string>;
  stored(storage: string): Promise<string[]>;
}

const kinds: Kind[] = [
  {
    name: 'an S3 bucket',
    storage: () => Promise.resolve(`s3://${s3.bucket}/c${randomBytes(4).toString('hex')}/drops`),
    env: () => s3.env,
    async stored(storage) {
      const { bucket, prefix } = parseS3Spec(storage);
      const page = await s3Client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (page.Contents ?? []).map((o) => o.Key ?? '');
    },
  },
  {
    name: 'a directory every instance uses',
    storage: newDir,
    env: () => ({}),
    stored: (dir) => readdir(join(dir, 'uploads')).catch(() => []),
  },
];

for (const kind of kinds)
  describe.skipIf(missing !== undefined)(`three relays, one Redis, ${kind.name}`, () => {
    const relays: RelayHandle[] = [];
    const logs: string[] = [];
    afterEach(async () => {
      await Promise.all(relays.splice(0).map((r) => r.close(0)));
    });
    beforeEach(async () => {
      await admin.flushall();
      logs.length = 0;
    });

    /** Three relays on one storage; `clock` shared; debug logs (drop ids) kept in `logs`. */
    async function start(config: Partial<RelayConfig> = {}, clock?: () => number): Promise<string[]> {
      const storage = await kind.storage();
      const bases: string[] = [];
      for (let i = 0; i < 3; i++) {
        const logger = createLogger({ format: 'json', verbose: true, write: (line) => logs.push(line) });
        const relay = await startTestRelay(
          { storage, redis: redisUrl(), ...config },
          { env: kind.env(), logger, ...(clock ? { clock } : {}) },
        );
        relays.push(relay);
        bases.push(`http://127.0.0.1:${relay.port}`);
      }
      return bases;
    }
    const storageOf = (): string => relays[0]!.config.storage!;

    it('takes an upload whose PATCHes go round the instances, and serves it from any', async () => {
      const [a, b, c] = await start();
      const data = randomBytes(600 * KiB);
      const id = newDropId();
      const { res, token } = await createDrop(a!, { id, downloads: '2' }, data.length);
      expect(res.status).toBe(201);
      const bases = [b!, c!, a!];
      for (let offset = 0, i = 0; offset < data.length; offset += 100 * KiB, i++) {
        const base = bases[i % 3]!;
        expect(await uploadOffset(base, id, token)).toBe(offset);
        expect((await patch(base, id, token, offset, data.subarray(offset, offset + 100 * KiB))).status).toBe(204);
      }
      const whole = await fetch(`${b}/drops/${id}`);
      expect([whole.status, whole.headers.get('portunus-downloads-left')]).toEqual([200, '1']);
      expect(sha256(Buffer.from(await whole.arrayBuffer()))).toBe(sha256(data));
      expect((await received(a!, id, whole.headers.get('portunus-lease'))).status).toBe(204);
      // A download cut on one instance resumes on another with its lease.
      const first = await fetch(`${c}/drops/${id}`);
      const lease = first.headers.get('portunus-lease')!;
      const part = await readPart(first, 64 * KiB);
      const rest = await fetch(`${a}/drops/${id}`, {
        headers: { 'Portunus-Lease': lease, Range: `bytes=${part.length}-` },
      });
      expect(rest.status).toBe(206);
      expect(sha256(Buffer.concat([part, Buffer.from(await rest.arrayBuffer())]))).toBe(sha256(data));
      expect((await fetch(`${b}/drops/${id}`, { method: 'HEAD' })).status).toBe(200);
      expect((await received(b!, id, lease)).status).toBe(204);
      await eventually(async () => (await fetch(`${b}/drops/${id}`, { method: 'HEAD' })).status === 410, 'gone');
      await eventually(async () => !(await kind.stored(storageOf())).some((n) => n.includes(id)), 'bytes deleted');
    });

    it('resumes on one instance an upload cut on another (the tus lock is shared)', async () => {
      const [a, b, c] = await start();
      const data = randomBytes(2048 * KiB);
      const id = newDropId();
      const { token } = await createDrop(a!, { id }, data.length);
      await cutPatch(a!, id, token, 0, data, 1024 * KiB);
      await eventually(async () => {
        const offset = await uploadOffset(b!, id, token);
        return (await patch(c!, id, token, offset, data.subarray(offset))).status === 204;
      }, 'the resumed upload');
      const res = await fetch(`${a}/drops/${id}`);
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(data));
    });

    it('gives the last slot of a drop raced from two instances to exactly one', async () => {
      const [a, b, c] = await start();
      const ids = Array.from({ length: 8 }, () => newDropId());
      for (const id of ids) await dropBytes(a!, id, randomBytes(20 * KiB));
      const outcomes = await Promise.all(
        ids.map(async (id) => {
          const both = await Promise.all([fetch(`${a}/drops/${id}`), fetch(`${b}/drops/${id}`)]);
          await Promise.all(both.map((r) => r.arrayBuffer()));
          return both.map((r) => r.status).sort();
        }),
      );
      expect(outcomes).toEqual(ids.map(() => [200, 410]));
      // Downloaded through A (or B), gone through C.
      const late = await fetch(`${c}/drops/${ids[0]}`);
      expect([late.status, late.headers.get('portunus-error')]).toEqual([410, 'DROP_GONE']);
    });

    it('counts the per-address and total limits across instances', async () => {
      const [a, b, c] = await start({ dropPerAddress: 2, dropTotalBytes: 25_000, dropBytesPerAddress: 30_000 });
      const code = async (base: string, length: number): Promise<[number, string | null]> => {
        const { res } = await createDrop(base, { id: newDropId() }, length);
        return [res.status, res.headers.get('portunus-error')];
      };
      expect(await code(a!, 10_000)).toEqual([201, null]);
      expect(await code(b!, 16_000)).toEqual([507, 'DROP_STORAGE_FULL']);
      expect(await code(b!, 10_000)).toEqual([201, null]);
      expect(await code(c!, 100)).toEqual([429, 'DROP_QUOTA']);
    });

    it('deletes an expired drop once, whichever instance sweeps; keeps a lease another instance is sending', async () => {
      let now = Date.now();
      const [a, b, c] = await start({ dropSweepIntervalMs: 20 }, () => now);
      const expiring = newDropId();
      await dropBytes(a!, expiring, randomBytes(10 * KiB), { expires: '60' });
      // Larger than what the socket buffers hold: the held response cannot finish.
      const data = randomBytes(16 * 1024 * KiB);
      const long = newDropId();
      await dropBytes(b!, long, data, { expires: '86400' });
      // A response from C that its receiver stops reading: C is still sending it.
      const held = await fetch(`${c}/drops/${long}`);
      const lease = held.headers.get('portunus-lease')!;
      const reader = held.body!.getReader();
      await reader.read();

      now += 61_000;
      await eventually(async () => !(await kind.stored(storageOf())).some((n) => n.includes(expiring)), 'expiry');
      await eventually(async () => (await admin.zcard(`${DROP_KEY_PREFIX}deleting`)) === 0, 'the claim settled');
      // The sweeping instance logs once its own ZREM has answered, which may be just after the test's ZCARD did.
      const deleted = () => logs.filter((l) => l.includes('drop deleted') && l.includes(expiring));
      await eventually(async () => deleted().length > 0, 'the deletion logged');
      expect(deleted()).toHaveLength(1);

      // Time passes in steps shorter than the lease's idle hour; C marks its lease seen at its sweeps.
      const member = `${long}:${sha256(Buffer.from(lease))}`;
      for (let step = 0; step < 3; step++) {
        now += 40 * 60_000;
        await eventually(async () => Number(await admin.zscore(`${DROP_KEY_PREFIX}leases`, member)) === now, 'seen');
      }
      const sending = await relays[2]!.metrics();
      expect(sending).toContain('portunus_relay_drop_downloads_sending 1');
      const resumed = await fetch(`${a}/drops/${long}`, { headers: { 'Portunus-Lease': lease, Range: 'bytes=1-' } });
      expect(resumed.status).toBe(206);
      expect(sha256(Buffer.from(await resumed.arrayBuffer()))).toBe(sha256(data.subarray(1)));
      await reader.cancel();
      expect((await received(b!, long, lease)).status).toBe(204);
      await eventually(async () => !(await kind.stored(storageOf())).some((n) => n.includes(long)), 'used up');
    });

    it('refuses drop requests while Redis is unreachable, loses nothing, and works again once it is back', async () => {
      const [a, b] = await start();
      const data = randomBytes(50 * KiB);
      const kept = newDropId();
      await dropBytes(a!, kept, data, { downloads: '2' });
      proxy.cut();
      const code = (res: Response): [number, string | null] => [res.status, res.headers.get('portunus-error')];
      await eventually(async () => code(await fetch(`${b}/drops/${kept}`))[0] === 503, 'the outage seen');
      expect(code(await fetch(`${a}/drops/${kept}`))).toEqual([503, 'DROPS_UNAVAILABLE']);
      expect(code((await createDrop(b!, { id: newDropId() }, 100)).res)).toEqual([503, 'DROPS_UNAVAILABLE']);
      expect((await fetch(`${a}/drops`)).status).toBe(200);

      proxy.on();
      await eventually(async () => (await fetch(`${b}/drops/${kept}`, { method: 'HEAD' })).status === 200, 'back');
      const res = await fetch(`${b}/drops/${kept}`);
      expect([res.status, res.headers.get('portunus-downloads-left')]).toEqual([200, '1']);
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(data));
      const fresh = newDropId();
      await dropBytes(b!, fresh, data);
      expect((await fetch(`${a}/drops/${fresh}`)).status).toBe(200);
    });
  });
