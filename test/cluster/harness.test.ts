/**
 * The cluster harness itself (cluster.ts): deploy/haproxy/haproxy.cfg templated for ports only, haproxy spreading
 * connections over the instances, a transfer through it, the per-instance /metrics and /healthz, and a killed
 * instance leaving the rotation.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterMissing, HAPROXY_CONFIG, haproxyConfig, metricValue, startCluster, type Cluster } from './cluster.js';
import { landedOn, openClient, relayTransfer } from './relay-transfer.js';

const missing = clusterMissing();
if (missing !== undefined) console.log(`skipping the cluster harness tests: ${missing}`);

describe('haproxyConfig', () => {
  const template = readFileSync(HAPROXY_CONFIG, 'utf8');

  it('changes only the ports (and binds the frontend to loopback), one server line per instance', () => {
    const config = haproxyConfig(template, 5000, [5001, 5002]);
    expect(config).toMatch(/^\s*bind 127\.0\.0\.1:5000$/m);
    const servers = [...config.matchAll(/^\s*server (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(servers).toEqual(['relay1 127.0.0.1:5001', 'relay2 127.0.0.1:5002']);
    const strip = (text: string) =>
      text
        .split('\n')
        .filter((l) => !/^\s*(bind|server) /.test(l))
        .join('\n');
    expect(strip(config)).toBe(strip(template));
  });

  it('reads Prometheus text, summing the series with the labels asked for', () => {
    const text = 'a_total{outcome="x"} 2\na_total{outcome="y"} 3\n# HELP a_total\nb 7\n';
    expect(metricValue(text, 'a_total')).toBe(5);
    expect(metricValue(text, 'a_total', { outcome: 'y' })).toBe(3);
    expect(metricValue(text, 'b')).toBe(7);
  });
});

describe.skipIf(missing !== undefined)('the cluster harness', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ instances: 3 });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it('spreads connections round robin over every instance, each with its /healthz and /metrics', async () => {
    const clients = await Promise.all([0, 1, 2].map(() => openClient(cluster.url)));
    try {
      const names = clients.map(landedOn);
      expect(new Set(names)).toEqual(new Set(cluster.instances.map((i) => i.name)));
      for (const instance of cluster.instances) {
        expect((await instance.healthz()).status).toBe(200);
        expect(await instance.metric('portunus_relay_connections')).toBeGreaterThanOrEqual(0);
      }
      expect(await cluster.total('portunus_relay_connections')).toBeGreaterThanOrEqual(3);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('drops a killed instance from the rotation; one instance behind it carries a transfer', async () => {
    const victim = cluster.instances[2]!;
    await victim.kill();
    expect(victim.alive).toBe(false);
    // haproxy either already knows it is down or retries the refused connection on another instance.
    const clients = await Promise.all([0, 1, 2, 3].map(() => openClient(cluster.url)));
    expect(clients.map(landedOn)).not.toContain(victim.name);
    await Promise.all(clients.map((c) => c.close()));
    const payload = randomBytes(200_000);
    // The smallest cluster: one instance, with Redis, behind the same haproxy file.
    const single = await startCluster({ instances: 1 });
    try {
      const result = await relayTransfer(single.url, payload);
      expect(result.senderInstance).toBe('relay1');
      expect(await single.total('portunus_relay_pairings_total')).toBe(1);
    } finally {
      await single.close();
    }
  });
});
