/**
 * Several relay instances on one Redis (PROTOCOL.md §12): two peers that land on different instances meet, and move
 * data both ways through the link, text as text and binary as binary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisMissing } from '../../test/redis/redis-server.js';
import { metricValue, RawClient, WAIT_MS, within } from './helpers.js';
import { pairAcross, startTestCluster, type TestCluster } from './cluster-helpers.js';

const missing = redisMissing();

describe.skipIf(missing !== undefined)('several relay instances: pairing across instances', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster(2);
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it('allocate on A, claim on B: paired, msg and binary both ways through the link', async () => {
    const [A, B] = cluster.relays as [NonNullable<TestCluster['relays'][0]>, NonNullable<TestCluster['relays'][0]>];
    const { a, b } = await pairAcross(A.url, B.url);
    a.json({ type: 'msg', body: 'YQ' });
    expect((await b.expect('msg')).body).toBe('YQ');
    b.json({ type: 'msg', body: 'Yg' });
    expect((await a.expect('msg')).body).toBe('Yg');
    a.json({ type: 'pipe' });
    b.json({ type: 'pipe' });
    await a.expect('pipe-open');
    await b.expect('pipe-open');
    a.ws.send(Buffer.from([1, 2, 3]));
    b.ws.send(Buffer.from([4, 5]));
    await b.until(() => b.binaryBytes === 3, 'binary at b');
    await a.until(() => a.binaryBytes === 2, 'binary at a');
    expect([...b.binary[0]!]).toEqual([1, 2, 3]);
    expect([...a.binary[0]!]).toEqual([4, 5]);
    // The room lives on A (the allocating instance); B holds a link.
    expect(A.stats().pairedRooms).toBe(1);
    expect(B.stats().pairedRooms).toBe(0);
    expect(metricValue(await B.metrics(), 'portunus_relay_forwarded_links_total')).toBe(1);
    // Once the rendezvous is through, B pipes the link as bytes (raw-splice.ts), and the frames above crossed it.
    expect(await pipedLinks(B)).toBe(1);
    // b leaves before the key exchange completed (a sent one msg): a waits again, as on one instance.
    b.close();
    await a.expect('unpaired');
    a.close();
    await within(a.closed, 'close');
  });

  it('claim first on B, claim second on A: the room lives on B', async () => {
    const [A, B] = cluster.relays as [NonNullable<TestCluster['relays'][0]>, NonNullable<TestCluster['relays'][0]>];
    const first = await RawClient.hello(B.url);
    first.json({ type: 'claim', nameplate: 77 });
    expect(await first.expect('claimed')).toMatchObject({ side: 'a' });
    const second = await RawClient.hello(A.url);
    second.json({ type: 'claim', nameplate: 77 });
    expect(await second.expect('claimed')).toMatchObject({ side: 'b' });
    await first.expect('paired');
    await second.expect('paired');
    second.close();
    first.close();
    await within(first.closed, 'close');
  });

  it('/healthz and the metrics say whether Redis is reachable', async () => {
    const [A] = cluster.relays;
    expect(A!.health().redis).toBe('ok');
    expect(metricValue(await A!.metrics(), 'portunus_relay_redis_up')).toBe(1);
  });
});

/** B's count of links piped as bytes, once it is not 0 (the handover runs after the rendezvous' own turn). */
async function pipedLinks(relay: { metrics(): Promise<string> }): Promise<number | undefined> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = metricValue(await relay.metrics(), 'portunus_relay_piped_links_total');
    if (value !== 0 || Date.now() > deadline) return value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
