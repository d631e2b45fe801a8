/**
 * Issue 17: Redis stopped under three instances. A new rendezvous fails at once with a clear error (a PortunusError
 * with its code, not a wait); transfers already paired before the outage complete, their traffic never needing
 * Redis; once Redis is back, new transfers work again.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortunusError } from '@portunus/protocol';
import type { RelayClient } from '@portunus/client';
import { clusterMissing, startCluster, type Cluster } from './cluster.js';
import { openClient, pairingGate, relayTransfer } from './relay-transfer.js';

const missing = clusterMissing();
if (missing !== undefined) console.log(`skipping the cluster Redis outage test: ${missing}`);

const RUNNING = 9;
/** The relay gives up on a Redis command after 2 s (relay/src/redis.ts); a refusal comes well within this. */
const REFUSAL_MS = 15_000;

describe.skipIf(missing !== undefined)('Redis stopped and started again', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ instances: 3, relayArgs: ['--failed-claims-per-minute', '1000'] });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  /** An allocate through haproxy from a fresh connection: the nameplate, or the error it was refused with. */
  async function tryAllocate(): Promise<number | PortunusError> {
    let client: RelayClient | undefined;
    try {
      client = await openClient(cluster.url, { forwardedFor: '10.19.9.9' });
      return await client.allocate();
    } catch (err) {
      if (err instanceof PortunusError) return err;
      throw err;
    } finally {
      await client?.close();
    }
  }

  it('refuses new rendezvous during the outage, lets running transfers finish, and works again after', async () => {
    const gate = pairingGate(RUNNING);
    const running = Array.from({ length: RUNNING }, (_, i) =>
      relayTransfer(cluster.url, randomBytes(128 * 1024), { forwardedFor: `10.19.0.${i}`, onPaired: gate.hold }),
    );
    await gate.allHeld(running);
    await cluster.redis.stop();

    // Each instance in turn (round robin) refuses, promptly and with a code.
    for (let i = 0; i < cluster.instances.length; i++) {
      const started = Date.now();
      const refused = await tryAllocate();
      expect(refused).toBeInstanceOf(PortunusError);
      expect((refused as PortunusError).code).toBe('RELAY_STATE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(REFUSAL_MS);
    }
    gate.release();
    await Promise.all(running);

    await cluster.redis.start();
    // The relays reconnect on their own (at most a second apart) and announce themselves at once: from the first
    // allocate that succeeds, new transfers work across instances.
    const deadline = Date.now() + REFUSAL_MS;
    let result = await tryAllocate();
    while (typeof result !== 'number') {
      expect(Date.now(), `still refused: ${result.code}`).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 200));
      result = await tryAllocate();
    }
    const after = await Promise.all(
      [0, 1, 2].map((i) => relayTransfer(cluster.url, randomBytes(64 * 1024), { forwardedFor: `10.19.1.${i}` })),
    );
    expect(after).toHaveLength(3);
    for (const instance of cluster.instances) expect((await instance.healthz()).status, instance.name).toBe(200);
  });
});
