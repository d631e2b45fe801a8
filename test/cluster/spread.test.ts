/**
 * Issue 17: three relay instances behind haproxy act as one relay. 200 transfers at once, each side landing on
 * whichever instance haproxy's round robin gives it: every payload arrives with its SHA-256, and every instance has
 * paired rooms and forwarded a client's traffic to another instance (a room's home).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, tempDir, TRANSFER_MS } from '../../cli/test/e2e/harness.js';
import { clusterMissing, startCluster, type Cluster } from './cluster.js';
import { CLUSTER_METRICS } from './cluster-metrics.js';
import { relayTransfer } from './relay-transfer.js';

const missing = clusterMissing();
if (missing !== undefined) console.log(`skipping the cluster tests: ${missing}`);

const IN_PROCESS = 196;
const CLI_PAIRS = 4;

describe.skipIf(missing !== undefined)('three relay instances behind haproxy', () => {
  let cluster: Cluster;
  let tmp: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    // Every in-process client claims its own address (X-Forwarded-For, believed from haproxy on 127.0.0.1); the CLI
    // processes all come from 127.0.0.1, well under the per-address limits.
    cluster = await startCluster({ instances: 3 });
    tmp = await tempDir('portunus-cluster-');
  });
  afterAll(async () => {
    await cluster?.close();
    await tmp?.cleanup();
  });

  /** A real send/receive pair of CLI processes through haproxy, the data on the relay path. */
  async function cliTransfer(i: number, content: Buffer): Promise<Buffer | undefined> {
    const dir = join(tmp.path, `cli${i}`);
    await mkdir(join(dir, 'src'), { recursive: true });
    await mkdir(join(dir, 'dst'), { recursive: true });
    await writeFile(join(dir, 'src', 'data.bin'), content);
    const common = ['--json', '--relay', cluster.url, '--transport', 'relay'];
    const sender = runPortunus(['send', ...common, 'data.bin'], { cwd: join(dir, 'src') });
    const code = String((await sender.waitEvent('code', { timeoutMs: TRANSFER_MS })).code);
    const receiver = runPortunus(['receive', ...common, '--yes', code], { cwd: join(dir, 'dst') });
    const [sc, rc] = await Promise.all([exitOf(sender, TRANSFER_MS), exitOf(receiver, TRANSFER_MS)]);
    expect({ sc, rc, stderr: receiver.stderr() }).toMatchObject({ sc: 0, rc: 0 });
    return readFile(join(dir, 'dst', 'data.bin'));
  }

  it('carries 200 concurrent transfers, every SHA-256 checked, with every instance pairing rooms and forwarding', async () => {
    const payloads = Array.from({ length: IN_PROCESS }, (_, i) => randomBytes(16 * 1024 + ((i * 7919) % 48) * 1024));
    const cliPayloads = Array.from({ length: CLI_PAIRS }, () => randomBytes(512 * 1024));
    const inProcess = payloads.map((payload, i) =>
      relayTransfer(cluster.url, payload, { forwardedFor: `10.17.${i >> 8}.${i & 255}` }),
    );
    const cli = cliPayloads.map((content, i) => cliTransfer(i, content));
    const results = await Promise.all(inProcess);
    const received = await Promise.all(cli);
    received.forEach((got, i) => expect(got?.equals(cliPayloads[i]!), `CLI pair ${i}`).toBe(true));

    // Round robin spreads both sides: rooms homed everywhere, and sides that landed away from their room.
    const names = cluster.instances.map((i) => i.name);
    expect(new Set(results.map((r) => r.senderInstance))).toEqual(new Set(names));
    const apart = results.filter((r) => r.senderInstance !== r.receiverInstance);
    expect(apart.length).toBeGreaterThan(IN_PROCESS / 3);

    for (const instance of cluster.instances) {
      expect(await instance.metric('portunus_relay_pairings_total'), instance.name).toBeGreaterThan(0);
      expect(await instance.metric(CLUSTER_METRICS.forwardedLinks), instance.name).toBeGreaterThan(0);
    }
    expect(await cluster.total('portunus_relay_pairings_total')).toBe(IN_PROCESS + CLI_PAIRS);
    for (const instance of cluster.instances) expect((await instance.healthz()).status, instance.name).toBe(200);
  });
});
