/**
 * Several relay processes acting as one relay (issue 17), as an operator runs them: a real redis-server, N relay
 * processes (`node relay/dist/main.js`, each with --redis and its own --advertise) and Debian's haproxy in
 * front, running deploy/haproxy/haproxy.cfg itself with only its ports changed, all on 127.0.0.1 and free ports.
 * Fault injection lives here: SIGKILL an instance, stop and start Redis. Test harness only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, redisMissing, startLocalRedis, type LocalRedis } from '../redis/redis-server.js';

/** The checkout: found upwards from here, as this file also runs bundled into dist/bench (bench/cluster.ts). */
function findRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir))
    if (existsSync(join(dir, 'deploy/haproxy/haproxy.cfg'))) return dir;
  throw new Error(`no checkout above ${from}`);
}
const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const HAPROXY_CONFIG = join(ROOT, 'deploy/haproxy/haproxy.cfg');
const RELAY_MAIN = join(ROOT, 'relay/dist/main.js');
/** Bound on each start-up step (a process listening, haproxy accepting): a hang detector, not a speed limit. */
const START_MS = 30_000;

/** Why the cluster tests cannot run here (printed when they skip), or undefined when haproxy and redis are here. */
export function clusterMissing(): string | undefined {
  const haproxy = spawnSync('haproxy', ['-v'], { stdio: 'ignore' });
  if (haproxy.error !== undefined || haproxy.status !== 0)
    return 'haproxy is not installed (Debian: apt-get install haproxy)';
  return redisMissing();
}

export interface Instance {
  /** Its server name in haproxy's config, which haproxy names in each upgrade's response (relay-transfer.ts). */
  readonly name: string;
  readonly port: number;
  /** Its own ws:// URL (also its --advertise). */
  readonly url: string;
  readonly alive: boolean;
  /** User + system CPU seconds the process has used so far (from /proc; 0 once it is gone). */
  cpuSeconds(): number;
  /** SIGKILL (a crash: no drain, no goodbye); resolves once it has exited. */
  kill(): Promise<void>;
  /** Prometheus text of its /metrics. */
  metricsText(): Promise<string>;
  /** One metric summed over the series whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Its /healthz: the HTTP status and the JSON body. */
  healthz(): Promise<{ status: number; body: Record<string, unknown> }>;
  stderr(): string;
}

export interface Cluster {
  /** haproxy's ws:// URL: what clients use. */
  readonly url: string;
  readonly instances: readonly Instance[];
  readonly redis: LocalRedis;
  /** The instance of that name (relay-transfer.ts landedOn). */
  instanceNamed(name: string): Instance;
  /** haproxy's CPU seconds so far. */
  proxyCpuSeconds(): number;
  /** A metric summed over every live instance. */
  total(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  /** Relay instances behind haproxy (default 3, as the example file). */
  instances?: number;
  /** Extra relay flags for every instance, e.g. ['--nameplate-ttl', '2']. */
  relayArgs?: string[];
  /** False: instances without --redis and --advertise, each a relay of its own (the bench's baseline). */
  shareState?: boolean;
}

/** Sums the samples of `name` in Prometheus text whose labels include every one of `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_0-9]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/**
 * deploy/haproxy/haproxy.cfg with its ports changed: the frontend binds 127.0.0.1:`port`, and its server lines
 * point at `relayPorts` (the first line's form repeated when there are more instances, lines dropped when fewer).
 */
export function haproxyConfig(template: string, port: number, relayPorts: readonly number[]): string {
  const bind = template.replace(/^(\s*bind )\S*:\d+$/m, `$1127.0.0.1:${port}`);
  const servers = [...bind.matchAll(/^(\s*server )(\S+) 127\.0\.0\.1:\d+(.*)$/gm)];
  if (servers.length === 0 || bind === template) throw new Error('haproxy.cfg: no bind or server line to template');
  const [first] = servers;
  const lines = relayPorts.map((p, i) => `${first![1]}relay${i + 1} 127.0.0.1:${p}${first![3]}`).join('\n');
  const start = first!.index!;
  const last = servers[servers.length - 1]!;
  return bind.slice(0, start) + lines + bind.slice(last.index! + last[0].length);
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'portunus-cluster-'));
  const children: ChildProcess[] = [];
  try {
    const redis = await startLocalRedis();
    const count = options.instances ?? 3;
    const instances: RelayInstance[] = [];
    for (let i = 0; i < count; i++) {
      const shared = options.shareState === false ? undefined : redis.url;
      instances.push(await startInstance(`relay${i + 1}`, shared, options.relayArgs ?? []));
      children.push(instances[i]!.child);
    }
    const port = await freePort();
    const config = join(dir, 'haproxy.cfg');
    const template = await readFile(HAPROXY_CONFIG, 'utf8');
    await writeFile(
      config,
      haproxyConfig(
        template,
        port,
        instances.map((i) => i.port),
      ),
    );
    const haproxy = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(haproxy);
    let haproxyLog = '';
    haproxy.stderr.on('data', (d: Buffer) => (haproxyLog = (haproxyLog + d.toString()).slice(-4000)));
    await acceptsConnections(port, haproxy, () => haproxyLog);
    const cluster: Cluster = {
      url: `ws://127.0.0.1:${port}/v1`,
      instances,
      redis,
      proxyCpuSeconds: () => cpuSecondsOf(haproxy.pid),
      instanceNamed(name) {
        const found = instances.find((i) => i.name === name);
        if (found === undefined) throw new Error(`no instance named '${name}'`);
        return found;
      },
      async total(name, labels) {
        const values = await Promise.all(instances.filter((i) => i.alive).map((i) => i.metric(name, labels)));
        return values.reduce((a, b) => a + b, 0);
      },
      async close() {
        await Promise.all(children.map(stopChild));
        await redis.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
    return cluster;
  } catch (err) {
    await Promise.all(children.map(stopChild));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

interface RelayInstance extends Instance {
  readonly child: ChildProcess;
}

async function startInstance(name: string, redisUrl: string | undefined, extra: string[]): Promise<RelayInstance> {
  const port = await freePort();
  const url = `ws://127.0.0.1:${port}/v1`;
  // One --name for all: it is the relay's name in the key exchange, so every instance must give the same.
  const args = [RELAY_MAIN, '--host', '127.0.0.1', '--port', String(port), '--json', '--name', 'portunus-cluster'];
  if (redisUrl !== undefined) args.push('--redis', redisUrl, '--advertise', `ws://127.0.0.1:${port}`);
  args.push('--trust-proxy', '127.0.0.1', ...extra);
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('PORTUNUS_')) delete env[k];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  let out = '';
  await bounded(
    new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"event":"listening"')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`relay ${name} exited (${code}): ${err}`)));
    }),
    `relay ${name} to listen`,
  );
  const http = `http://127.0.0.1:${port}`;
  const metricsText = async (): Promise<string> => (await fetch(`${http}/metrics`)).text();
  return {
    name,
    port,
    url,
    child,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    cpuSeconds: () => cpuSecondsOf(child.pid),
    kill: () => stopChild(child),
    metricsText,
    metric: async (metric, labels) => metricValue(await metricsText(), metric, labels),
    async healthz() {
      const res = await fetch(`${http}/healthz`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    stderr: () => err,
  };
}

/** utime + stime from /proc/<pid>/stat (clock ticks, 100 a second on Linux). */
function cpuSecondsOf(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** SIGKILL, then wait for the exit (nothing to drain: these processes are the test's own). */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port` (haproxy prints nothing when it is up). */
async function acceptsConnections(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + START_MS;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`haproxy exited (${proc.exitCode}): ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen within ${START_MS} ms: ${log()}`);
    // A refused connect returns at once: back off a little between attempts.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), START_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
