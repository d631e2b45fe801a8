/**
 * deploy/ as a self-hoster takes it: every Kubernetes manifest is validated against the Kubernetes API's schemas
 * (kubernetes-models: the OpenAPI schemas compiled to validators), with kubectl's strict field validation added
 * (a misspelt field is an error, not silently ignored); the settings the files give (k8s ConfigMap, compose,
 * systemd, Dockerfile.relay) are relay options the relay reads and accepts; the shutdown grace fits every stop
 * timeout; the Grafana dashboard asks only for metrics a real relay serves, and shows each relay metric.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { startRelay } from '@portunus/relay';
import { ROOT } from '../../cli/test/e2e/harness.js';
import { redisMissing, startLocalRedis } from '../redis/redis-server.js';
import { checkRelayEnv, DEPLOY, manifest, manifests, read, type Json } from './deploy-env.js';

// --- Kubernetes ---

interface Model {
  validate(): void;
}
type ModelClass = new (data: Json) => Model;

/** The kubernetes-models class for a manifest's apiVersion and kind ('v1' is the core group). */
async function modelFor(apiVersion: string, kind: string): Promise<ModelClass> {
  const module = (await import(`kubernetes-models/${apiVersion}`)) as Record<string, ModelClass | undefined>;
  const model = module[kind];
  if (model === undefined) throw new Error(`no model for ${apiVersion} ${kind}`);
  return model;
}

function schemaErrors(Model: ModelClass, data: Json): { instancePath: string; message?: string }[] {
  try {
    new Model(data).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
    if (errors === undefined) throw err;
    return errors;
  }
}

/**
 * Fields the schema does not know. The compiled schemas ignore unknown properties (the API server's strict field
 * validation rejects them), so each field in turn is replaced by a value no schema type accepts: a known field
 * then fails at its own path, an unknown one passes unnoticed and is reported. Map entries (labels, annotations,
 * ConfigMap data) are known through their map's value type.
 */
function unknownFields(Model: ModelClass, data: Json): string[] {
  const unknown: string[] = [];
  const pointer = (path: string[]): string =>
    path.map((p) => `/${p.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
  const visit = (node: unknown, path: string[]): void => {
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      const at = [...path, key];
      const probe = structuredClone(data);
      let parent = probe as Record<string, unknown>;
      for (const p of path) parent = parent[p] as Record<string, unknown>;
      parent[key] = Symbol('no schema type accepts this');
      const here = pointer(at);
      const known = schemaErrors(Model, probe).some(
        (e) => e.instancePath === here || e.instancePath.startsWith(`${here}/`),
      );
      if (known) visit(value, at);
      else unknown.push(at.join('.'));
    }
  };
  visit(data, []);
  return unknown;
}

describe('deploy/k8s', () => {
  const all = manifests();
  const byKind = (kind: string): Json => manifest(all, kind);

  it("has the relay's Deployment, Service and ConfigMap, and Redis's Deployment, Service and volume", () => {
    expect(all.map((m) => `${m.object.kind} ${m.object.metadata.name}`).sort()).toEqual([
      'ConfigMap portunus-relay',
      'Deployment portunus-redis',
      'Deployment portunus-relay',
      'PersistentVolumeClaim portunus-redis',
      'Service portunus-redis',
      'Service portunus-relay',
    ]);
  });

  it.each(all.map((m) => [`${m.file}: ${m.object.kind} ${m.object.metadata?.name}`, m] as const))(
    '%s is valid against the Kubernetes API schema, with no unknown field',
    async (_, { object }) => {
      const Model = await modelFor(object.apiVersion, object.kind);
      expect(schemaErrors(Model, object)).toEqual([]);
      expect(unknownFields(Model, object)).toEqual([]);
    },
  );

  it('catches what a mistaken manifest would get wrong (the checks above can fail)', async () => {
    const deployment = byKind('Deployment');
    const Model = await modelFor('apps/v1', 'Deployment');
    const typo = structuredClone(deployment) as { spec: { template: { spec: Json } } };
    typo.spec.template.spec.terminationGracePeriodSecond = 15;
    expect(unknownFields(Model, typo as Json)).toEqual(['spec.template.spec.terminationGracePeriodSecond']);
    const wrongType = structuredClone(deployment) as { spec: Json };
    wrongType.spec.replicas = 'one';
    expect(schemaErrors(Model, wrongType as Json)).not.toEqual([]);
  });

  it('runs the relay as the Deployment says: probes on /healthz, grace under the termination grace, scrape annotations', () => {
    const configMap = byKind('ConfigMap') as { metadata: { name: string }; data: Record<string, string> };
    // Each pod adds its PORTUNUS_RELAY_ADVERTISE (its IP: cluster-files.test.ts), which --redis needs.
    const grace = checkRelayEnv({ ...configMap.data, PORTUNUS_RELAY_ADVERTISE: 'ws://10.1.2.3:4747' }, 'k8s pod');
    const deployment = byKind('Deployment') as any;
    const pod = deployment.spec.template;
    const [container] = pod.spec.containers;
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(grace);
    expect(container.envFrom[0]).toEqual({ configMapRef: { name: configMap.metadata.name } });
    expect(container.envFrom.slice(1)).toEqual([{ secretRef: { name: 'portunus-relay-s3', optional: true } }]);
    const port = container.ports.find((p: Json) => p.containerPort === 4747);
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      expect(probe.httpGet.path).toBe('/healthz');
      expect(probe.httpGet.port).toBe(port.name);
    }
    // Liveness must not kill a relay that answers 503 while it drains.
    expect(container.livenessProbe.periodSeconds * container.livenessProbe.failureThreshold).toBeGreaterThan(grace);
    expect(pod.metadata.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(port.containerPort),
      'prometheus.io/path': '/metrics',
    });
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(container.resources.requests).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
    const service = byKind('Service') as any;
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(pod.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(service.spec.ports[0].targetPort).toBe(port.name);
  });
});

// --- compose, systemd, the image ---

describe('deploy/compose.yaml', () => {
  const compose = parseYaml(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8')) as any;

  it('runs the relay behind nginx with deploy/nginx/relay.conf, settings the relay accepts, pointing to the cluster file', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['proxy', 'relay']);
    const { relay, proxy } = compose.services;
    const grace = checkRelayEnv(relay.environment, 'compose');
    expect(Number.parseInt(relay.stop_grace_period, 10)).toBeGreaterThan(grace);
    // nginx shares the relay's network namespace, so relay.conf's 127.0.0.1 upstream and trust-proxy hold.
    expect(proxy.network_mode).toBe('service:relay');
    expect(relay.environment).toMatchObject({
      PORTUNUS_RELAY_HOST: '127.0.0.1',
      PORTUNUS_RELAY_TRUST_PROXY: '127.0.0.1',
    });
    expect(proxy.volumes).toContain('./nginx/relay.conf:/etc/nginx/conf.d/default.conf:ro');
    expect(read('deploy/nginx/relay.conf')).toMatch(/server 127\.0\.0\.1:4747;/);
    expect(read('deploy/compose.yaml')).not.toMatch(/PLACEHOLDER/);
    expect(read('deploy/compose.yaml')).toContain('compose.cluster.yaml');
  });
});

describe('deploy/systemd/portunus-relay.service', () => {
  const unit = read('deploy/systemd/portunus-relay.service');
  const env = Object.fromEntries([...unit.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));

  it('gives settings the relay accepts, and stops after the grace', () => {
    const grace = checkRelayEnv(env, 'systemd');
    expect(Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1])).toBeGreaterThan(grace);
    for (const option of ['DynamicUser=yes', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes'])
      expect(unit).toContain(`\n${option}\n`);
  });

  const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
  if (!analyze) console.log('skipping systemd-analyze verify of the unit: systemd-analyze is not installed');
  it.skipIf(!analyze)('passes systemd-analyze verify, and its security review rates it OK or better', () => {
    // The unit as installed, except that ExecStart runs this checkout's relay (verify wants an existing binary).
    const dir = mkdtempSync(join(tmpdir(), 'portunus-unit-'));
    try {
      const path = join(dir, 'portunus-relay.service');
      writeFileSync(
        path,
        unit.replace(/^ExecStart=.*$/m, `ExecStart=${process.execPath} ${join(ROOT, 'relay/dist/main.js')}`),
      );
      const verify = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
      expect(verify.status, verify.stderr).toBe(0);
      expect(verify.stderr).toBe('');
      const security = execFileSync('systemd-analyze', ['security', '--offline=true', path], { encoding: 'utf8' });
      const exposure = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(security)?.[1]);
      expect(exposure, security).toBeLessThanOrEqual(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Dockerfile.relay', () => {
  const dockerfile = read('Dockerfile.relay');

  it('sets relay options the relay accepts, a grace under the 10 s stop timeout, and the version the relay reports', () => {
    const envBlock = /^ENV PORTUNUS_RELAY_[\s\S]*?[^\\]\n/m.exec(dockerfile)?.[0] ?? '';
    const env = Object.fromEntries(
      [...envBlock.matchAll(/(PORTUNUS_RELAY_[A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]),
    );
    expect(Object.keys(env)).toContain('PORTUNUS_RELAY_GRACE');
    expect(checkRelayEnv(env, 'Dockerfile.relay')).toBeLessThan(10);
    const cli = JSON.parse(read('cli/package.json')) as { version: string };
    expect(/^ARG VERSION=(\S+)$/m.exec(dockerfile)?.[1]).toBe(cli.version);
    expect(dockerfile).not.toMatch(/^RUN .*\bapk\b/m); // CI builds it on a glibc stand-in (scripts/container-base.sh)
  });
});

describe('deploy/caddy/Caddyfile', () => {
  const caddy = spawnSync('caddy', ['version']).status === 0;
  if (!caddy)
    console.log('skipping caddy adapt of the Caddyfile: caddy is not installed (Debian: apt-get install caddy)');
  it.skipIf(!caddy)(
    "is a Caddyfile Caddy reads: a reverse proxy to the relay's loopback port, flushing at once",
    () => {
      const adapted = spawnSync(
        'caddy',
        ['adapt', '--adapter', 'caddyfile', '--config', join(DEPLOY, 'caddy/Caddyfile')],
        {
          encoding: 'utf8',
        },
      );
      expect(adapted.status, adapted.stderr).toBe(0);
      const handlers = [...adapted.stdout.matchAll(/"handler":"reverse_proxy"[^]*?"dial":"([^"]+)"/g)].map((m) => m[1]);
      expect(handlers).toEqual(['127.0.0.1:4747']);
      expect(adapted.stdout).toContain('"flush_interval":-1');
    },
  );
});

// --- Grafana ---

describe('deploy/grafana/relay-dashboard.json', () => {
  interface Panel {
    title: string;
    targets?: { expr: string }[];
  }
  const dashboard = JSON.parse(read('deploy/grafana/relay-dashboard.json')) as { panels: Panel[] };
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  const used = new Set(
    exprs.flatMap((e) => [...e.matchAll(/\b(?:portunus_relay|process|nodejs)_[a-z0-9_]+/g)].map((m) => m[0])),
  );
  // The relay's own metrics, and those of several instances sharing their state (cluster.ts, only with --redis).
  const metricNames = (file: string) => [...read(file).matchAll(/name: '(portunus_relay_[a-z_]+)'/g)].map((m) => m[1]!);
  const clusterOnly = metricNames('relay/src/cluster.ts');
  const defined = [...metricNames('relay/src/metrics.ts'), ...clusterOnly];

  it('uses the relay metrics metrics.ts and cluster.ts define, and shows every one of them', () => {
    expect(defined.length).toBeGreaterThan(5);
    expect(clusterOnly.length).toBeGreaterThan(0);
    const relayUsed = [...used].filter((n) => n.startsWith('portunus_relay_'));
    expect(relayUsed.filter((n) => !defined.includes(n))).toEqual([]);
    expect(defined.filter((n) => !used.has(n))).toEqual([]);
  });

  it.skipIf(redisMissing() !== undefined)('asks only for metrics a running relay serves at /metrics', async () => {
    // With a Redis, as one of several instances: then it serves the cluster metrics as well.
    const redis = await startLocalRedis();
    const relay = await startRelay({ host: '127.0.0.1', port: 0, graceMs: 0, processMetrics: true, redis: redis.url });
    try {
      const text = await (await fetch(new URL('/metrics', relay.url.replace(/^ws/, 'http')))).text();
      // Metric families by their TYPE line: a labelled counter has no series before its first event (rejections).
      const served = new Set([...text.matchAll(/^# TYPE ([a-z_0-9]+) /gm)].map((m) => m[1]!));
      expect([...used].filter((n) => !served.has(n))).toEqual([]);
    } finally {
      await relay.close(0);
      await redis.close();
    }
  });
});
