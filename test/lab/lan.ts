/**
 * A LAN segment for the LAN-mode lab tests, built from network namespaces (root, iproute2 and iptables needed):
 *
 *   <prefix>a  eth0 198.18.5.1/24 ──┐
 *                                  br0 (in <prefix>sw, a plain learning bridge: the "switch")
 *   <prefix>b  eth0 198.18.5.2/24 ──┘
 *
 * 198.18.0.0/15 is the RFC 2544 benchmarking range: the addresses exist only inside these namespaces. Nothing is
 * connected to the root namespace and there is no default route, so nothing can leave the lab. The prefix is
 * unique per run, so parallel runs (and a crashed earlier run) never collide.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface LabHost {
  /** Namespace name. */
  ns: string;
  address: string;
  /** Command prefix that runs a program inside this host. */
  prefix: string[];
}

export interface LanLab {
  a: LabHost;
  b: LabHost;
  /** Runs a command in one host; throws with its stderr when it fails. */
  run(host: LabHost, argv: string[]): string;
  down(): void;
}

/** Why the lab cannot be built here (undefined when it can). */
export function labSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  if (spawnSync('ip', ['-V']).status !== 0) return "needs iproute2's `ip`";
  // The broadcast-only and multicast-only cases drop the other kind with an iptables rule.
  if (spawnSync('iptables', ['-V']).status !== 0) return 'needs iptables';
  return undefined;
}

function sh(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr || r.error?.message}`);
  return r.stdout;
}

export function lanLabUp(): LanLab {
  const prefix = `ptl${randomBytes(3).toString('hex')}`;
  const sw = `${prefix}sw`;
  const host = (name: string, address: string): LabHost => ({
    ns: `${prefix}${name}`,
    address,
    prefix: ['ip', 'netns', 'exec', `${prefix}${name}`],
  });
  const a = host('a', '198.18.5.1');
  const b = host('b', '198.18.5.2');
  const inNs = (ns: string, argv: string[]) => sh(['ip', 'netns', 'exec', ns, ...argv]);
  const down = () => {
    for (const ns of [a.ns, b.ns, sw]) {
      // Only processes inside our own namespaces are stopped.
      const pids =
        spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout?.split('\n').filter(Boolean) ?? [];
      for (const pid of pids) spawnSync('kill', ['-9', pid]);
      spawnSync('ip', ['netns', 'del', ns]);
    }
  };
  try {
    for (const ns of [sw, a.ns, b.ns]) {
      sh(['ip', 'netns', 'add', ns]);
      inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
    }
    inNs(sw, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    inNs(sw, ['ip', 'link', 'set', 'br0', 'up']);
    for (const [name, h] of [
      ['a', a],
      ['b', b],
    ] as const) {
      sh(['ip', 'link', 'add', 'eth0', 'netns', h.ns, 'type', 'veth', 'peer', 'name', `p${name}`, 'netns', sw]);
      inNs(sw, ['ip', 'link', 'set', `p${name}`, 'master', 'br0', 'up']);
      inNs(h.ns, ['ip', 'addr', 'add', `${h.address}/24`, 'dev', 'eth0']);
      inNs(h.ns, ['ip', 'link', 'set', 'eth0', 'up']);
    }
  } catch (err) {
    down();
    throw err;
  }
  return { a, b, run: (h, argv) => inNs(h.ns, argv), down };
}
