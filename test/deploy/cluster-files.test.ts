/**
 * deploy/ for several relay instances acting as one (issue 17): the Kubernetes Deployment's replicas share redis.yaml's
 * Redis and each advertise their pod IP; compose.cluster.yaml runs three instances, Redis and HAProxy (TLS) in one
 * network namespace with deploy/haproxy/haproxy.cfg unchanged, which `haproxy -c` accepts with tls.cfg. That the
 * haproxy.cfg really balances three relays is test/cluster's (it runs this very file).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { makeCertificates } from '../../cli/test/tls/certificates.js';
import { checkRelayEnv, DEPLOY, manifest, manifests, read, type Json } from './deploy-env.js';

describe('deploy/k8s, several replicas', () => {
  const all = manifests();
  const byKind = (kind: string, name?: string): Json => manifest(all, kind, name);

  it('runs several replicas as one relay: a shared Redis that redis.yaml serves, each pod advertising its own IP', () => {
    const configMap = byKind('ConfigMap') as { data: Record<string, string> };
    const deployment = byKind('Deployment') as any;
    expect(deployment.spec.replicas).toBeGreaterThan(1);
    const [container] = deployment.spec.template.spec.containers;
    const env = Object.fromEntries((container.env as Json[]).map((e) => [e.name, e]));
    expect(env.POD_IP).toEqual({ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
    const port = container.ports.find((p: Json) => p.name === 'relay').containerPort;
    expect(env.PORTUNUS_RELAY_ADVERTISE).toEqual({ name: 'PORTUNUS_RELAY_ADVERTISE', value: `ws://$(POD_IP):${port}` });
    // The relay accepts what the pod will hold once Kubernetes has expanded $(POD_IP).
    checkRelayEnv({ ...configMap.data, PORTUNUS_RELAY_ADVERTISE: `ws://10.1.2.3:${port}` }, 'k8s pod');
    // PORTUNUS_RELAY_REDIS names redis.yaml's Service and port, which selects its Deployment's pods.
    const redisUrl = new URL(configMap.data.PORTUNUS_RELAY_REDIS!);
    const redisService = byKind('Service', 'portunus-redis') as any;
    const redis = byKind('Deployment', 'portunus-redis') as any;
    expect(redisUrl.hostname).toBe(redisService.metadata.name);
    expect(Number(redisUrl.port)).toBe(redisService.spec.ports[0].port);
    expect(redisService.spec.selector).toEqual(redis.spec.selector.matchLabels);
    const redisPort = redis.spec.template.spec.containers[0].ports[0];
    expect(redisService.spec.ports[0].targetPort).toBe(redisPort.name);
    expect(redis.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    // Drops in S3, which every replica reads (a directory would be one pod's).
    expect(configMap.data.PORTUNUS_RELAY_STORAGE).toMatch(/^s3:\/\//);
    for (const file of ['configmap.yaml', 'deployment.yaml', 'service.yaml', 'redis.yaml'])
      expect(read(`deploy/k8s/${file}`), file).not.toMatch(/PLACEHOLDER/);
  });
});

describe('deploy/compose.cluster.yaml', () => {
  const compose = parseYaml(read('deploy/compose.cluster.yaml'), { merge: true }) as any;
  const haproxyCfg = read('deploy/haproxy/haproxy.cfg');
  const relays = ['relay1', 'relay2', 'relay3'];

  it('runs three relays, Redis and HAProxy in one network namespace, as haproxy.cfg expects', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['proxy', 'redis', ...relays]);
    const { redis, proxy } = compose.services;
    expect(redis.command.join(' ')).toContain('--bind 127.0.0.1 --port 6379');
    expect(redis.ports).toEqual(['443:443']);
    const servers = [...haproxyCfg.matchAll(/^\s*server \S+ 127\.0\.0\.1:(\d+)/gm)].map((m) => m[1]);
    for (const [i, name] of relays.entries()) {
      const relay = compose.services[name];
      expect(relay.network_mode, name).toBe('service:redis');
      expect(relay.image).toBe('portunus-relay');
      const grace = checkRelayEnv(relay.environment, name);
      expect(Number.parseInt(relay.stop_grace_period, 10)).toBeGreaterThan(grace);
      const env = relay.environment as Record<string, string>;
      expect(env).toMatchObject({
        PORTUNUS_RELAY_HOST: '127.0.0.1',
        PORTUNUS_RELAY_PORT: servers[i],
        PORTUNUS_RELAY_ADVERTISE: `ws://127.0.0.1:${servers[i]}`,
        PORTUNUS_RELAY_REDIS: 'redis://127.0.0.1:6379',
        PORTUNUS_RELAY_TRUST_PROXY: '127.0.0.1',
      });
    }
    // One name for all: clients bind the relay's name into the key exchange (CPace's channel id).
    const names = relays.map((name) => compose.services[name].environment.PORTUNUS_RELAY_NAME as string);
    expect(new Set(names).size).toBe(1);
    expect(proxy.network_mode).toBe('service:redis');
    expect(proxy.depends_on).toEqual(relays);
    expect(proxy.volumes).toContain('./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    expect(proxy.volumes).toContain('./haproxy/tls.cfg:/usr/local/etc/haproxy/tls.cfg:ro');
  });

  const haproxy = spawnSync('haproxy', ['-v']).status === 0;
  if (!haproxy) console.log('skipping haproxy -c of deploy/haproxy: haproxy is not installed');
  it.skipIf(!haproxy)('has HAProxy files that haproxy -c accepts, TLS included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portunus-haproxy-'));
    try {
      const { good } = makeCertificates(dir);
      const pem = join(dir, 'relay.pem');
      writeFileSync(pem, readFileSync(good.cert, 'utf8') + readFileSync(good.key, 'utf8'));
      const tls = join(dir, 'tls.cfg');
      writeFileSync(tls, read('deploy/haproxy/tls.cfg').replace('/usr/local/etc/haproxy/certs/relay.pem', pem));
      const check = spawnSync('haproxy', ['-c', '-f', join(DEPLOY, 'haproxy/haproxy.cfg'), '-f', tls], {
        encoding: 'utf8',
      });
      expect(check.status, check.stdout + check.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
