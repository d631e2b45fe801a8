/**
 * Several relay instances on one Redis (PROTOCOL.md §12) when Redis goes away: new rendezvous fail at once with
 * RELAY_STATE_UNAVAILABLE (4014) while a running transfer through a link goes on; once Redis is back the instances
 * announce themselves and their rooms again, and rendezvous work again. And backpressure holds through a link.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisMissing } from '../../test/redis/redis-server.js';
import type { RelayHandle } from '../src/server.js';
import { eventually, metricValue, pump, PUMP_FRAME as FRAME, RawClient, within } from './helpers.js';
import { pairAcross, startTestCluster, type TestCluster } from './cluster-helpers.js';

const missing = redisMissing();
const MiB = 1024 * 1024;

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function pipeAcross(A: RelayHandle, B: RelayHandle): Promise<{ a: RawClient; b: RawClient; nameplate: number }> {
  const paired = await pairAcross(A.url, B.url);
  paired.a.json({ type: 'pipe' });
  paired.b.json({ type: 'pipe' });
  await paired.a.expect('pipe-open');
  await paired.b.expect('pipe-open');
  return paired;
}

describe.skipIf(missing !== undefined)('several relay instances: Redis outage', () => {
  it('Redis stopped: new rendezvous get RELAY_STATE_UNAVAILABLE, a running transfer completes; Redis back: they work', async () => {
    cluster = await startTestCluster(2);
    const [A, B] = cluster.relays as [RelayHandle, RelayHandle];
    const { a, b, nameplate } = await pipeAcross(A, B);

    await cluster.redis.stop();
    await eventually(() => A.health().redis === 'unreachable' && B.health().redis === 'unreachable', 'outage seen');
    expect(metricValue(await A.metrics(), 'portunus_relay_redis_up')).toBe(0);
    for (const relay of [A, B]) {
      const late = await RawClient.hello(relay.url);
      late.json({ type: 'allocate' });
      expect(await late.expect('error')).toMatchObject({ code: 'RELAY_STATE_UNAVAILABLE' });
      expect(await late.closeCode()).toBe(4014);
    }
    // The running transfer goes on, both ways, through the link.
    const sending = pump(a.ws, 4 * MiB, MiB);
    await b.until(() => b.binaryBytes === 4 * MiB, 'the transfer during the outage', 30_000);
    await sending;
    b.json({ type: 'msg', body: 'Yg' });
    expect((await a.expect('msg')).body).toBe('Yg');

    await cluster.redis.start();
    await eventually(() => A.health().redis === 'ok' && B.health().redis === 'ok', 'Redis back');
    // The instances announce themselves and take their rooms' nameplates back at their next heartbeat.
    const watcher = new Redis(cluster.redis.url);
    try {
      await within(
        (async () => {
          while ((await watcher.get(`portunus:np:${nameplate}`)) === null)
            await new Promise((resolve) => setTimeout(resolve, 20));
        })(),
        'the room’s nameplate held again',
      );
    } finally {
      watcher.disconnect();
    }
    const again = await pairAcross(B.url, A.url);
    expect(again.nameplate).not.toBe(nameplate);
    a.close();
    b.close();
  });

  it('an instance whose Redis is down at start still starts, refuses rendezvous, and serves once Redis is up', async () => {
    cluster = await startTestCluster(0);
    await cluster.redis.stop();
    const A = await cluster.add();
    expect(A.health()).toMatchObject({ status: 'ok', redis: 'unreachable' });
    const early = await RawClient.hello(A.url);
    early.json({ type: 'claim', nameplate: 3 });
    expect(await early.expect('error')).toMatchObject({ code: 'RELAY_STATE_UNAVAILABLE' });
    await cluster.redis.start();
    await eventually(() => A.health().redis === 'ok', 'Redis reached');
    const B = await cluster.add();
    const { nameplate } = await pairAcross(B.url, A.url);
    expect(nameplate).toBeGreaterThan(0);
  });

  it('backpressure through a link: a reader that stalls does not make either instance buffer without bound', async () => {
    cluster = await startTestCluster(2, { highWaterMark: MiB, maxFrameBytes: MiB });
    const [A, B] = cluster.relays as [RelayHandle, RelayHandle];
    const { a: sender, b: reader } = await pipeAcross(A, B);
    reader.ws.pause();
    const total = 128 * MiB;
    const state = { sent: 0, waiting: false };
    const pumping = pump(sender.ws, total, MiB, state);
    // B pipes the link as bytes once the rendezvous is through (raw-splice.ts): it stops reading the link while the
    // reader's socket is full, so the queue builds on A, the room's instance, which pauses the sender.
    await eventually(() => A.stats().pausedConnections === 1 && state.waiting, 'the sender to stall', 60_000);
    const sentAtStall = state.sent;
    console.log(
      `cluster backpressure: stalled after ${(sentAtStall / MiB).toFixed(1)} MiB; queues A ${(A.stats().bufferedBytes / MiB).toFixed(2)} MiB, B ${(B.stats().bufferedBytes / MiB).toFixed(2)} MiB`,
    );
    expect(B.stats().bufferedBytes).toBeLessThanOrEqual(MiB + 2 * FRAME);
    expect(A.stats().bufferedBytes).toBeLessThanOrEqual(MiB + 2 * FRAME);
    expect(sentAtStall).toBeLessThan(64 * MiB);
    let received = 0;
    reader.ws.removeAllListeners('message');
    const done = new Promise<void>((resolve) =>
      reader.ws.on('message', (data: Buffer) => {
        received += data.length;
        if (received === total) resolve();
      }),
    );
    reader.ws.resume();
    await within(Promise.all([pumping, done]), 'all data to arrive', 120_000);
    expect(received).toBe(total);
  });
});
