/**
 * Issue 17: the failed-claims limit holds for the whole cluster. Claims from one address land on different
 * instances (haproxy's round robin), each one refused as NAMEPLATE_IN_USE; once the address has used up its
 * --failed-claims-per-minute across them, the next claim is RATE_LIMITED on whichever instance it reaches, though
 * no instance alone saw that many failures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortunusError } from '@portunus/protocol';
import { clusterMissing, startCluster, type Cluster } from './cluster.js';
import { landedOn, nextEvent, openClient } from './relay-transfer.js';

const missing = clusterMissing();
if (missing !== undefined) console.log(`skipping the cluster rate-limit test: ${missing}`);

const LIMIT = 4;

describe.skipIf(missing !== undefined)('failed claims across instances', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ instances: 3, relayArgs: ['--failed-claims-per-minute', String(LIMIT)] });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  /** A claim from `address` on a fresh connection: the instance it landed on, and the refusal's code. */
  async function failedClaim(address: string, nameplate: number): Promise<{ instance: string; code: string }> {
    const client = await openClient(cluster.url, { forwardedFor: address });
    try {
      await client.claim(nameplate);
      throw new Error(`claim of the full nameplate ${nameplate} succeeded on ${landedOn(client)}`);
    } catch (err) {
      if (!(err instanceof PortunusError)) throw err;
      return { instance: landedOn(client), code: err.code };
    } finally {
      await client.close();
    }
  }

  it('counts one address’s failed claims on every instance towards one limit', async () => {
    // A full room (both sides paired), from other addresses.
    const a = await openClient(cluster.url, { forwardedFor: '192.0.2.1' });
    const nameplate = await a.allocate();
    const b = await openClient(cluster.url, { forwardedFor: '192.0.2.2' });
    await b.claim(nameplate);
    await Promise.all([nextEvent(a, 'paired'), nextEvent(b, 'paired')]);
    try {
      const guesser = '198.51.100.7';
      const refused = [];
      for (let i = 0; i < LIMIT; i++) refused.push(await failedClaim(guesser, nameplate));
      expect(refused.map((r) => r.code)).toEqual(Array(LIMIT).fill('NAMEPLATE_IN_USE'));
      const perInstance = new Map<string, number>();
      for (const r of refused) perInstance.set(r.instance, (perInstance.get(r.instance) ?? 0) + 1);
      expect(perInstance.size).toBeGreaterThan(1);
      expect(Math.max(...perInstance.values())).toBeLessThan(LIMIT);

      // The next claims, wherever they land, are refused by the limit.
      const limited = [];
      for (let i = 0; i < 3; i++) limited.push(await failedClaim(guesser, nameplate));
      expect(limited.map((r) => r.code)).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
      expect(new Set(limited.map((r) => r.instance)).size).toBe(3);
      // Another address is not affected.
      expect((await failedClaim('198.51.100.8', nameplate)).code).toBe('NAMEPLATE_IN_USE');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
