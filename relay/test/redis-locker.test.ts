/** The tus upload lock shared through Redis (redis-locker.ts), two lockers standing for two relay instances. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisLocker } from '../src/redis-locker.js';
import { redisMissing, startLocalRedis, type LocalRedis } from '../../test/redis/redis-server.js';
import { within } from './helpers.js';

const missing = redisMissing();

describe.skipIf(missing !== undefined)('the shared tus lock (redis-locker.ts)', () => {
  let server: LocalRedis;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await startLocalRedis();
    clients.push(new Redis(server.url), new Redis(server.url));
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.close();
  });

  it('holds an upload for one instance at a time; a waiter on another asks the holder to let go', async () => {
    const [a, b] = clients.map((c) => new RedisLocker(c, 'test:lock:')) as [RedisLocker, RedisLocker];
    const held = a.newLock('upload');
    let asked!: () => void;
    const askedToRelease = new Promise<void>((resolve) => (asked = resolve));
    await held.lock(new AbortController().signal, () => asked());

    const waiting = b.newLock('upload');
    let got = false;
    const acquired = waiting.lock(new AbortController().signal, () => {}).then(() => (got = true));
    await within(askedToRelease, 'the holder to be asked to let go');
    expect(got).toBe(false);
    await held.unlock();
    await within(acquired, 'the waiter to get the lock');
    // Another upload is not held up.
    const other = a.newLock('other');
    await within(
      other.lock(new AbortController().signal, () => {}),
      'a lock on another upload',
    );
    await other.unlock();
    await waiting.unlock();
    expect(await clients[0]!.keys('test:lock:*')).toEqual([]);
  });

  it('gives up when the request is aborted', async () => {
    const [a, b] = clients.map((c) => new RedisLocker(c, 'test:lock:')) as [RedisLocker, RedisLocker];
    const held = a.newLock('busy');
    await held.lock(new AbortController().signal, () => {});
    const abort = new AbortController();
    const waiting = b.newLock('busy').lock(abort.signal, () => {});
    abort.abort();
    await expect(waiting).rejects.toMatchObject({ status_code: 500 });
    await held.unlock();
  });
});
