/**
 * Issue 6 in the lab: two hosts on one bridged LAN segment (test/lab/lan.ts). The sender and the receiver run with
 * no relay and no address at all; the receiver must discover the sender's embedded relay across the segment and the
 * transfer must succeed — by multicast and broadcast together, and by each of them alone.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, tempDir, TRANSFER_MS } from '../../cli/test/e2e/harness.js';
import { labSkipReason, lanLabUp, type LanLab } from './lan.js';

/**
 * The receiver looks for the sender for up to DISCOVER_S (a real option, --discover-timeout; 5 s by default), so a
 * slow start never reads as "no sender on this network". Discovery takes milliseconds, the transfer a second or two.
 */
const DISCOVER_S = 60;

const skip = labSkipReason();
if (skip !== undefined) console.log(`skipping the LAN lab: ${skip}`);

describe.skipIf(skip !== undefined)('LAN mode across two hosts on one segment', () => {
  let lab: LanLab;
  let tmp: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    lab = lanLabUp();
    tmp = await tempDir('portunus-lanlab-');
  });
  afterAll(async () => {
    lab?.down();
    await tmp?.cleanup();
  });

  let n = 0;
  /** Sends a fresh file from host a to host b; returns the sender address the receiver joined. */
  async function transfer(): Promise<{ joined: string }> {
    const dir = join(tmp.path, `run-${++n}`);
    const [src, dst, config] = [join(dir, 'src'), join(dir, 'dst'), join(dir, 'config')];
    for (const d of [src, dst, config]) await mkdir(d, { recursive: true });
    const content = randomBytes(200_000);
    await writeFile(join(src, 'data.bin'), content);
    const env = { XDG_CONFIG_HOME: config };
    const sender = runPortunus(['send', '--json', 'data.bin'], { cwd: src, env, prefix: lab.a.prefix });
    const code = await sender.waitEvent('code');
    expect(code.mode).toBe('lan');
    const receiver = runPortunus(
      ['receive', '--yes', '--verbose', '--discover-timeout', String(DISCOVER_S), String(code.code)],
      {
        cwd: dst,
        env,
        prefix: lab.b.prefix,
      },
    );
    const [sc, rc] = await Promise.all([exitOf(sender, TRANSFER_MS), exitOf(receiver, TRANSFER_MS)]);
    expect([sc, rc], `sender: ${sender.stderr()}\nreceiver: ${receiver.stderr()}`).toEqual([0, 0]);
    expect((await readFile(join(dst, 'data.bin'))).equals(content)).toBe(true);
    return { joined: /joined the sender at ([\d.]+):\d+/.exec(receiver.stderr())?.[1] ?? '' };
  }

  it('discovers the sender on the other host and transfers', async () => {
    expect((await transfer()).joined).toBe(lab.a.address);
  });

  it('by broadcast alone (multicast dropped at the receiver)', async () => {
    lab.run(lab.b, ['iptables', '-I', 'INPUT', '-d', '239.0.0.0/8', '-j', 'DROP']);
    try {
      expect((await transfer()).joined).toBe(lab.a.address);
    } finally {
      lab.run(lab.b, ['iptables', '-D', 'INPUT', '-d', '239.0.0.0/8', '-j', 'DROP']);
    }
  });

  it('by multicast alone (broadcast dropped at the receiver)', async () => {
    const rule = ['INPUT', '-m', 'pkttype', '--pkt-type', 'broadcast', '-j', 'DROP'];
    lab.run(lab.b, ['iptables', '-I', ...rule]);
    try {
      expect((await transfer()).joined).toBe(lab.a.address);
    } finally {
      lab.run(lab.b, ['iptables', '-D', ...rule]);
    }
  });
});
