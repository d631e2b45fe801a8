/**
 * deploy/compose.yaml brought up with podman: the relay image read-only, nginx (deploy/nginx/relay.conf) in the
 * relay's network namespace with a certificate from a private CA, a real send and receive through wss:// with --ca,
 * then a stop in compose's order (the proxy, then the relay), each exiting 0 within the file's stop_grace_period.
 *
 * Debian 12's podman (4.3) has no `podman compose`, and its podman-compose (1.0.3) cannot run
 * `network_mode: service:…` (it adds its own network as well: "cannot set multiple networks"), so the test starts
 * each service as compose would, with `podman run`, from the file's own fields. A key it does not know fails the
 * test instead of being ignored. Changed for the test, and only this: the relay's published port gives way to the
 * host's network (podman's bridge would change the host's forwarding and iptables), so the relay's port and
 * nginx's listen address are the test's, on 127.0.0.1 (nginx-site.ts); ./certs is the test's.
 *
 * Skipped, with the reason printed, without podman or the images (the relay's, and the nginx:1.27 stand-in that
 * scripts/container-base.sh builds).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, ROOT, runPortunus, tempDir, type Proc } from '../../cli/test/e2e/harness.js';
import { makeCertificates, type TestCertificates } from '../../cli/test/tls/certificates.js';
import { freePort, moveFile } from '../deploy/move-file.js';
import { nginxSite } from '../deploy/nginx-site.js';

interface Service {
  image: string;
  environment?: Record<string, string>;
  read_only?: boolean;
  volumes?: string[];
  network_mode?: string;
  depends_on?: string[];
  ports?: string[];
  restart?: string;
  stop_grace_period?: string;
}
/** What the translation below handles; `restart` has nothing to do in a test, `ports` gives way to the host's net. */
const KNOWN_KEYS = new Set([
  'image',
  'environment',
  'read_only',
  'volumes',
  'network_mode',
  'depends_on',
  'ports',
  'restart',
  'stop_grace_period',
]);

const compose = parseYaml(readFileSync(join(ROOT, 'deploy/compose.yaml'), 'utf8')) as {
  services: Record<string, Service>;
};
const podmanEnv = { ...process.env, CONTAINERS_CONF: join(ROOT, 'scripts/podman-containers.conf') };

function podman(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('podman', args, { env: podmanEnv, encoding: 'utf8' });
  return { status: r.error ? null : r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function skipReason(): string | undefined {
  if (podman(['--version']).status !== 0) return 'podman is not installed';
  for (const service of Object.values(compose.services))
    if (podman(['image', 'exists', service.image]).status !== 0)
      return `no image ${service.image} (see .ci/run and scripts/container-base.sh)`;
  return undefined;
}
const skip = skipReason();
if (skip !== undefined) console.log(`skipping the compose test: ${skip}`);

/** Services in start order: each after those it depends on. */
function startOrder(): string[] {
  const order: string[] = [];
  const visit = (name: string): void => {
    if (order.includes(name)) return;
    for (const dep of compose.services[name]!.depends_on ?? []) visit(dep);
    order.push(name);
  };
  Object.keys(compose.services).forEach(visit);
  return order;
}

/** Resolves when `proc`'s output on `stream` matches, or rejects when it exits first. */
function outputMatching(proc: Proc, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (pattern.test(stream === 'stdout' ? proc.stdout() : proc.stderr())) resolve();
      else if (proc.child.exitCode !== null) reject(new Error(`exited before ${pattern}: ${proc.stderr()}`));
    };
    proc.child[stream]!.on('data', check);
    proc.child.on('exit', check);
    check();
  });
}

describe.skipIf(skip !== undefined)('deploy/compose.yaml with podman', () => {
  const project = `portunus-compose-test-${process.pid}`;
  const container = (service: string): string => `${project}-${service}`;
  const logs: Record<string, Proc> = {};
  let tmp: { path: string; cleanup: () => Promise<void> };
  let certs: TestCertificates;
  let listenPort: number;

  beforeAll(async () => {
    tmp = await tempDir('portunus-compose-');
    certs = makeCertificates(tmp.path);
    const certDir = join(tmp.path, 'certs');
    mkdirSync(certDir);
    copyFileSync(certs.good.cert, join(certDir, 'relay.pem'));
    copyFileSync(certs.good.key, join(certDir, 'relay.key'));
    const relayPort = await freePort();
    listenPort = await freePort();
    const site = join(tmp.path, 'relay.conf');
    writeFileSync(site, nginxSite({ listenPort, relayPort }));
    const sources: Record<string, string> = { './nginx/relay.conf': site, './certs': certDir };

    for (const name of startOrder()) {
      const service = compose.services[name]!;
      for (const key of Object.keys(service)) expect(KNOWN_KEYS, `services.${name}.${key}`).toContain(key);
      const args = ['run', '--detach', '--name', container(name)];
      const network = service.network_mode?.replace(
        /^service:(.+)$/,
        (_, other: string) => `container:${container(other)}`,
      );
      args.push(`--network=${network ?? 'host'}`);
      if (service.read_only === true) args.push('--read-only');
      const env = { ...service.environment };
      if (env.PORTUNUS_RELAY_PORT !== undefined) env.PORTUNUS_RELAY_PORT = String(relayPort);
      for (const [key, value] of Object.entries(env)) args.push('-e', `${key}=${value}`);
      for (const volume of service.volumes ?? []) {
        const [source, ...rest] = volume.split(':');
        expect(sources, `a volume the test does not provide: ${volume}`).toHaveProperty([source!]);
        args.push('-v', [sources[source!], ...rest].join(':'));
      }
      const run = podman([...args, service.image]);
      expect(run.status, run.stderr).toBe(0);
      logs[name] = runPortunus(['logs', '--follow', container(name)], { command: ['podman'], env: podmanEnv });
    }
    // The relay announces itself on stdout; nginx's master logs this notice once its sockets are open.
    await outputMatching(logs.relay!, 'stdout', /Relay listening on port/);
    await outputMatching(logs.proxy!, 'stderr', /start worker process/);
  });

  afterAll(async () => {
    for (const name of startOrder().reverse()) podman(['rm', '--force', '--time', '0', container(name)]);
    await Promise.all(Object.values(logs).map((p) => exitOf(p)));
    await tmp?.cleanup();
  });

  it('runs the relay as the file says: read-only, its settings from the environment, bound to 127.0.0.1', () => {
    const [inspected] = JSON.parse(podman(['inspect', container('relay')]).stdout) as {
      HostConfig: { ReadonlyRootfs: boolean };
    }[];
    expect(inspected!.HostConfig.ReadonlyRootfs).toBe(true);
    expect(logs.relay!.stdout()).toMatch(/Relay listening on port \d+: ws:\/\/127\.0\.0\.1:\d+/);
  });

  it('carries a real send and receive through nginx in the relay’s network namespace, over wss:// with --ca', async () => {
    const moved = await moveFile(join(tmp.path, 'move'), `wss://localhost:${listenPort}`, ['--ca', certs.ca]);
    expect(moved.codes, moved.sender.stderr() + moved.receiver.stderr()).toEqual([0, 0]);
    expect(moved.receivedSha256).toBe(moved.sentSha256);
  });

  it("stops in compose's order, each service exiting 0 within its stop_grace_period", async () => {
    for (const name of startOrder().reverse()) {
      const grace = Number.parseInt(compose.services[name]!.stop_grace_period ?? '10', 10);
      const stop = podman(['stop', '--time', String(grace), container(name)]);
      expect(stop.status, stop.stderr).toBe(0);
      const code = podman(['inspect', '--format', '{{.State.ExitCode}}', container(name)]).stdout.trim();
      expect(code, `${name}: ${logs[name]!.stderr()}`).toBe('0');
    }
    // `podman logs --follow` ends with the container, after its last line.
    await exitOf(logs.relay!);
    expect(logs.relay!.stderr()).toMatch(/"event":"draining"[^]*"event":"stopped"/);
  });
});
