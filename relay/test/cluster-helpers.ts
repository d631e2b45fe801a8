/** Test helpers for several relay instances sharing one real redis-server (PROTOCOL.md §12). */
import { startLocalRedis, type LocalRedis } from '../../test/redis/redis-server.js';
import type { RelayConfig } from '../src/config.js';
import type { RelayHandle } from '../src/server.js';
import { RawClient, startTestRelay } from './helpers.js';

export interface TestCluster {
  readonly redis: LocalRedis;
  readonly relays: RelayHandle[];
  /** Starts one more instance on the shared Redis. */
  add(config?: Partial<RelayConfig>): Promise<RelayHandle>;
  close(): Promise<void>;
}

export async function startTestCluster(count: number, config: Partial<RelayConfig> = {}): Promise<TestCluster> {
  const redis = await startLocalRedis();
  const relays: RelayHandle[] = [];
  const add = async (extra: Partial<RelayConfig> = {}): Promise<RelayHandle> => {
    const relay = await startTestRelay({ redis: redis.url, noPage: true, ...config, ...extra });
    relays.push(relay);
    return relay;
  };
  for (let i = 0; i < count; i++) await add();
  return {
    redis,
    relays,
    add,
    close: async () => {
      await Promise.all(relays.map((relay) => relay.close(0)));
      await redis.close();
    },
  };
}

/** a allocates on `urlA`, b claims on `urlB`: both paired, same sid. */
export async function pairAcross(
  urlA: string,
  urlB: string,
): Promise<{ a: RawClient; b: RawClient; nameplate: number }> {
  const a = await RawClient.hello(urlA);
  a.json({ type: 'allocate' });
  const { nameplate } = (await a.expect('allocated')) as { nameplate: number };
  const b = await RawClient.hello(urlB);
  b.json({ type: 'claim', nameplate });
  await b.expect('claimed');
  const pa = await a.expect('paired');
  const pb = await b.expect('paired');
  if (pa.sid !== pb.sid) throw new Error('sides got different sids');
  return { a, b, nameplate };
}
