/**
 * The shared state's holds (PROTOCOL.md §12.3), against a real redis-server, heartbeat by heartbeat: a nameplate taken
 * by a route is not given up by the heartbeat right after (its room may be made a moment later), is given up by the
 * one after that when no room holds it, is kept while a room does, and a dead holder's nameplate counts as free.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisMissing, startLocalRedis, type LocalRedis } from '../../test/redis/redis-server.js';
import { silentLogger } from '../src/logger.js';
import { openRedis, type SharedRedis } from '../src/redis.js';
import { SharedState } from '../src/shared-state.js';

const missing = redisMissing();
const none = { nameplates: [], reconnects: [] };

describe.skipIf(missing !== undefined)('the shared state, heartbeat by heartbeat', () => {
  let server: LocalRedis;
  let redis: SharedRedis[] = [];
  let watcher: Redis;
  beforeAll(async () => {
    server = await startLocalRedis();
    watcher = new Redis(server.url);
  });
  afterAll(async () => {
    watcher?.disconnect();
    await Promise.all(redis.map((r) => r.close()));
    await server?.close();
  });

  async function instance(id: string): Promise<SharedState> {
    const shared = openRedis(server.url, silentLogger);
    redis.push(shared);
    await shared.ready(10_000);
    const options = { maxNameplate: 100, failedClaimsPerMinute: 5, maxConnectionsPerIp: 8, burnTtlMs: 60_000 };
    return new SharedState(shared, { id: id.repeat(32), advertise: `ws://127.0.0.1:1${id}`, ...options }, silentLogger);
  }

  it('gives a freed nameplate back at the second heartbeat, keeps a held one, and frees a dead holder’s', async () => {
    const a = await instance('a');
    const b = await instance('b');
    await a.heartbeat(none);
    await b.heartbeat(none);
    expect(await a.route({ kind: 'claim', nameplate: 5 }, '192.0.2.1')).toEqual({ kind: 'local' });
    expect(await b.route({ kind: 'claim', nameplate: 5 }, '192.0.2.2')).toEqual({
      kind: 'remote',
      url: 'ws://127.0.0.1:1a',
    });
    await a.heartbeat(none);
    expect(await watcher.get('portunus:np:5')).toBe('a'.repeat(32));
    await a.heartbeat(none);
    expect(await watcher.get('portunus:np:5')).toBeNull();

    expect(await a.route({ kind: 'allocate' }, '192.0.2.1')).toEqual({ kind: 'local', nameplate: 1 });
    await a.heartbeat({ nameplates: [1], reconnects: [] });
    await a.heartbeat({ nameplates: [1], reconnects: [] });
    expect(await watcher.get('portunus:np:1')).toBe('a'.repeat(32));
    expect(await b.route({ kind: 'allocate' }, '192.0.2.2')).toEqual({ kind: 'local', nameplate: 2 });
    // a dies: once its liveness key is gone, its nameplate counts as free.
    await watcher.del(`portunus:live:${'a'.repeat(32)}`);
    expect(await b.route({ kind: 'claim', nameplate: 1 }, '192.0.2.2')).toEqual({ kind: 'local' });
  });
});
