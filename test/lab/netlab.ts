/**
 * A NAT test topology from Linux network namespaces (root only), ported from the verified reference
 * ../shared/lab/netlab.sh. Every namespace name carries a prefix unique to this run, so test files running in
 * parallel never collide; nothing is connected to the root namespace and no route leaves the lab.
 *
 *   <p>pub   : the "internet": bridge br0, servers at 198.18.0.1 (relay, STUN/TURN)
 *   <p>rtra  : NAT router A  wan 198.18.0.11  <->  lan 198.19.1.1/24
 *   <p>rtrb  : NAT router B  wan 198.18.0.12  <->  lan 198.19.2.1/24
 *   <p>homea : host A 198.19.1.2 (default via 198.19.1.1)
 *   <p>homeb : host B 198.19.2.2 (default via 198.19.2.1)
 *
 * 198.18.0.0/15 is the RFC 2544 benchmarking range: these addresses exist only inside the lab. Three traps the
 * reference found are handled below: routers drop unsolicited WAN input (else early punch packets make the NAT
 * pick another port), pub has a silent default route (else coturn drops a TURN allocation when relaying to a
 * private address fails), and DNS is rejected so lookups fail fast.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type NsName = 'pub' | 'rtra' | 'rtrb' | 'homea' | 'homeb';
export type Home = 'a' | 'b';
export type NatKind = 'cone' | 'symmetric';

export const PUBLIC_IP = '198.18.0.1';
export const HOME_IP: Record<Home, string> = { a: '198.19.1.2', b: '198.19.2.2' };
const NAMESPACES: NsName[] = ['pub', 'rtra', 'rtrb', 'homea', 'homeb'];
const TOOLS = ['ip', 'iptables', 'conntrack', 'turnserver'];

/** Why the lab cannot run here (not root, or a tool missing), or undefined when it can. */
export function labSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'the NAT lab needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the NAT lab needs root (network namespaces, iptables)';
  const missing = TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length > 0)
    return `the NAT lab needs ${missing.join(', ')} (apt-get install iproute2 iptables conntrack coturn)`;
  return undefined;
}

export class NetLab {
  private readonly children = new Set<ChildProcess>();

  private constructor(readonly prefix: string) {}

  /** Builds the topology; on any failure whatever was made is torn down again. */
  static async create(natA: NatKind = 'cone', natB: NatKind = 'cone'): Promise<NetLab> {
    const lab = new NetLab(`pt${process.pid.toString(36)}${randomBytes(3).toString('hex')}-`);
    try {
      await lab.up(natA, natB);
      return lab;
    } catch (err) {
      await lab.down();
      throw err;
    }
  }

  ns(name: NsName): string {
    return this.prefix + name;
  }

  /** Runs a command inside a namespace and returns its stdout; a non-zero exit rejects. */
  async exec(name: NsName, ...cmd: string[]): Promise<string> {
    const { stdout } = await run('ip', ['netns', 'exec', this.ns(name), ...cmd]);
    return stdout;
  }

  /** Starts a long-running process inside a namespace; down() kills it if it is still there. */
  spawn(name: NsName, cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns(name), cmd, ...args], {
      ...opts,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Endpoint-independent mapping ("cone": Linux keeps the source port when free) or per-destination random ports. */
  async setNat(home: Home, kind: NatKind): Promise<void> {
    const rtr: NsName = home === 'a' ? 'rtra' : 'rtrb';
    await this.exec(rtr, 'iptables', '-t', 'nat', '-F', 'POSTROUTING');
    const masquerade = ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE'];
    await this.exec(rtr, ...(kind === 'symmetric' ? [...masquerade, '--random'] : masquerade));
    await this.flushConntrack(home);
  }

  /** Drops all forwarded UDP of one home at its router (TCP still works), or lifts that again. */
  async blockUdp(home: Home, blocked: boolean): Promise<void> {
    const rtr: NsName = home === 'a' ? 'rtra' : 'rtrb';
    await this.exec(
      rtr,
      'iptables',
      blocked ? '-I' : '-D',
      'FORWARD',
      ...(blocked ? ['1'] : []),
      '-p',
      'udp',
      '-j',
      'DROP',
    );
    await this.flushConntrack(home);
  }

  /** UDP packets a home has sent since the last reset (a counting rule in its OUTPUT chain). */
  async udpPacketsSent(home: Home): Promise<number> {
    const out = await this.exec(home === 'a' ? 'homea' : 'homeb', 'iptables', '-n', '-v', '-x', '-L', 'OUTPUT');
    // The only rule there: "pkts bytes target prot opt in out …" with prot shown as 17 (udp) under -n.
    const m = /^\s*(\d+)\s+\d+\s+.*\beth0\b/m.exec(out);
    if (m === null) throw new Error(`no UDP counting rule in ${this.ns(home === 'a' ? 'homea' : 'homeb')}`);
    return Number(m[1]);
  }

  /**
   * Adds a counting rule (no target) for packets arriving in namespace `name` that match `match` (iptables
   * syntax), and returns a reader of its packet count.
   */
  async countInput(name: NsName, match: string[]): Promise<() => Promise<number>> {
    await this.exec(name, 'iptables', '-I', 'INPUT', '1', ...match, '-m', 'comment', '--comment', 'portunus-count');
    return async () => {
      const out = await this.exec(name, 'iptables', '-n', '-v', '-x', '-L', 'INPUT');
      const row = out.split('\n').find((line) => line.includes('portunus-count'));
      if (row === undefined) throw new Error('the counting rule is gone');
      return Number(row.trim().split(/\s+/)[0]);
    };
  }

  async resetCounters(): Promise<void> {
    for (const home of ['homea', 'homeb'] as const) await this.exec(home, 'iptables', '-Z', 'OUTPUT');
  }

  /** Kills what runs in the lab's namespaces (only those) and deletes them. Safe to call twice. */
  async down(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    for (const name of [...NAMESPACES].reverse()) {
      const pids = await run('ip', ['netns', 'pids', this.ns(name)]).then(
        (r) => r.stdout.split(/\s+/).filter(Boolean),
        () => [],
      );
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await run('ip', ['netns', 'del', this.ns(name)]).catch(() => undefined);
    }
  }

  private async flushConntrack(home: Home): Promise<void> {
    await this.exec(home === 'a' ? 'rtra' : 'rtrb', 'conntrack', '-F').catch(() => undefined);
  }

  private async up(natA: NatKind, natB: NatKind): Promise<void> {
    for (const name of NAMESPACES) {
      await run('ip', ['netns', 'add', this.ns(name)]);
      await this.exec(name, 'ip', 'link', 'set', 'lo', 'up');
    }
    await this.publicSegment();
    for (const home of ['a', 'b'] as const) await this.home(home);
    await this.setNat('a', natA);
    await this.setNat('b', natB);
  }

  private async publicSegment(): Promise<void> {
    const pub = (...cmd: string[]) => this.exec('pub', ...cmd);
    await pub('sysctl', '-qw', 'net.ipv4.ip_forward=0'); // a new namespace may inherit the root's value; pub is no router
    await pub('ip', 'link', 'add', 'br0', 'type', 'bridge');
    await pub('ip', 'addr', 'add', `${PUBLIC_IP}/24`, 'dev', 'br0');
    await pub('ip', 'link', 'set', 'br0', 'up');
    // "The rest of the internet": a default route into a veth sink inside pub, so sends to unknown addresses (the
    // other side's private LAN) vanish silently instead of failing with ENETUNREACH.
    await pub('ip', 'link', 'add', 'sink0', 'type', 'veth', 'peer', 'name', 'sink1');
    await pub('ip', 'addr', 'add', '192.0.2.1/30', 'dev', 'sink0');
    await pub('ip', 'link', 'set', 'sink0', 'up');
    await pub('ip', 'link', 'set', 'sink1', 'up');
    await pub('ip', 'neigh', 'add', '192.0.2.2', 'lladdr', '02:00:00:00:00:99', 'dev', 'sink0', 'nud', 'permanent');
    await pub('ip', 'route', 'add', 'default', 'via', '192.0.2.2', 'dev', 'sink0');
    await pub('iptables', '-A', 'OUTPUT', '-o', 'sink0', '-p', 'udp', '--dport', '53', '-j', 'REJECT');
    await pub(
      'iptables',
      '-A',
      'OUTPUT',
      '-o',
      'sink0',
      '-p',
      'tcp',
      '--dport',
      '53',
      '-j',
      'REJECT',
      '--reject-with',
      'tcp-reset',
    );
  }

  private async home(home: Home): Promise<void> {
    const i = home === 'a' ? 1 : 2;
    const rtrName: NsName = home === 'a' ? 'rtra' : 'rtrb';
    const homeName: NsName = home === 'a' ? 'homea' : 'homeb';
    const rtr = (...cmd: string[]) => this.exec(rtrName, ...cmd);
    const host = (...cmd: string[]) => this.exec(homeName, ...cmd);
    await run('ip', [
      'link',
      'add',
      'wan',
      'netns',
      this.ns(rtrName),
      'type',
      'veth',
      'peer',
      'name',
      `p${home}`,
      'netns',
      this.ns('pub'),
    ]);
    await this.exec('pub', 'ip', 'link', 'set', `p${home}`, 'master', 'br0', 'up');
    await rtr('ip', 'addr', 'add', `198.18.0.1${i}/24`, 'dev', 'wan');
    await rtr('ip', 'link', 'set', 'wan', 'up');
    await rtr('ip', 'route', 'add', 'default', 'via', PUBLIC_IP);
    await run('ip', [
      'link',
      'add',
      'lan',
      'netns',
      this.ns(rtrName),
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      this.ns(homeName),
    ]);
    await rtr('ip', 'addr', 'add', `198.19.${i}.1/24`, 'dev', 'lan');
    await rtr('ip', 'link', 'set', 'lan', 'up');
    await host('ip', 'addr', 'add', `${HOME_IP[home]}/24`, 'dev', 'eth0');
    await host('ip', 'link', 'set', 'eth0', 'up');
    await host('ip', 'route', 'add', 'default', 'via', `198.19.${i}.1`);
    await rtr('sysctl', '-qw', 'net.ipv4.ip_forward=1');
    await host('sysctl', '-qw', 'net.ipv4.ip_forward=0');
    // Inbound from the WAN only for established flows (a real home router).
    await rtr('iptables', '-P', 'FORWARD', 'DROP');
    await rtr('iptables', '-A', 'FORWARD', '-p', 'udp', '--dport', '53', '-j', 'REJECT');
    await rtr('iptables', '-A', 'FORWARD', '-p', 'tcp', '--dport', '53', '-j', 'REJECT', '--reject-with', 'tcp-reset');
    await rtr('iptables', '-A', 'FORWARD', '-i', 'lan', '-o', 'wan', '-j', 'ACCEPT');
    await rtr(
      'iptables',
      '-A',
      'FORWARD',
      '-i',
      'wan',
      '-o',
      'lan',
      '-m',
      'conntrack',
      '--ctstate',
      'ESTABLISHED,RELATED',
      '-j',
      'ACCEPT',
    );
    // Unsolicited packets to the router itself are dropped. Besides being realistic this is REQUIRED for hole
    // punching: an early inbound punch would leave an unreplied conntrack entry for the router's own ip:port,
    // and the later outbound packet would be mapped to a different port (tuple clash).
    await rtr(
      'iptables',
      '-A',
      'INPUT',
      '-i',
      'wan',
      '-m',
      'conntrack',
      '--ctstate',
      'ESTABLISHED,RELATED',
      '-j',
      'ACCEPT',
    );
    await rtr('iptables', '-A', 'INPUT', '-i', 'wan', '-j', 'DROP');
    // A counting rule (no target): how many UDP packets this home sent (scenario "relay only": none).
    await host('iptables', '-A', 'OUTPUT', '-o', 'eth0', '-p', 'udp');
  }
}
