import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedis, type SharedRedis } from '../src/redis.js';
import { redisMissing, startLocalRedis, type LocalRedis } from '../../test/redis/redis-server.js';
import { createLogger } from '../src/logger.js';

const missing = redisMissing();
if (missing !== undefined) console.warn(`skipping the shared Redis connection: ${missing}`);

describe.skipIf(missing !== undefined)('the shared Redis connection (redis.ts), against a real redis-server', () => {
  let server: LocalRedis;
  let redis: SharedRedis;
  const lines: string[] = [];
  const logger = createLogger({ format: 'text', write: (line) => lines.push(line) });

  beforeAll(async () => {
    server = await startLocalRedis();
    redis = openRedis(server.url, logger);
    await redis.ready(10_000);
  });
  afterAll(async () => {
    await redis?.close();
    await server?.close();
  });

  it('answers while Redis is up, fails fast while it is down, and comes back by itself', async () => {
    expect(redis.reachable()).toBe(true);
    await redis.client.set('k', 'v');
    expect(await redis.client.get('k')).toBe('v');

    await server.stop();
    if (redis.reachable()) await new Promise<void>((resolve) => redis.client.once('close', () => resolve()));
    expect(redis.reachable()).toBe(false);
    await expect(redis.client.get('k')).rejects.toThrow();

    await server.start();
    await redis.ready(30_000);
    expect(redis.reachable()).toBe(true);
    // A restart without persistence: the key is gone, the connection works.
    expect(await redis.client.get('k')).toBeNull();
    expect(lines.filter((l) => l.includes('redis unreachable'))).toHaveLength(1);
    expect(lines.join('\n')).not.toContain(server.url);
  });
});
