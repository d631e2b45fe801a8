/**
 * The relay image (Dockerfile.relay) as CI builds it (.ci/run: scripts/container-base.sh, then podman build): run
 * with podman on the host's network, bound to 127.0.0.1, read-only as deploy/k8s runs it; flags after the image
 * name reach the relay; a real `portunus send`/`receive` pair moves a file through it; its health check passes; and
 * `podman stop` during a transfer ends in a graceful shutdown that exits 0 inside the stop timeout. It also checks
 * what the image is made of: the relay package's own production dependencies and nothing else, and its labels.
 *
 * Skipped, with the reason printed, without podman or without the image (PORTUNUS_IMAGE_UNDER_TEST, by default
 * localhost/portunus-relay: `podman build --format docker -f Dockerfile.relay -t portunus-relay .`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, ROOT, runPortunus, tempDir, type Proc } from '../../cli/test/e2e/harness.js';
import { freePort, moveFile } from '../deploy/move-file.js';

const IMAGE = process.env.PORTUNUS_IMAGE_UNDER_TEST ?? 'localhost/portunus-relay';
/** The stop timeout of `docker stop` and `podman stop` when none is given: the image's grace must end before it. */
const STOP_TIMEOUT_S = 10;
const podmanEnv = { ...process.env, CONTAINERS_CONF: join(ROOT, 'scripts/podman-containers.conf') };

function podman(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('podman', args, { env: podmanEnv, encoding: 'utf8' });
  return { status: r.error ? null : r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function skipReason(): string | undefined {
  if (podman(['--version']).status !== 0) return 'podman is not installed';
  if (podman(['image', 'exists', IMAGE]).status !== 0) return `no image ${IMAGE} (see .ci/run for how CI builds it)`;
  return undefined;
}

const skip = skipReason();
if (skip !== undefined) console.log(`skipping the relay image test: ${skip}`);

/** The packages the relay's production dependencies need, by the lockfile: what node_modules must hold. */
function relayClosure(): string[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }>;
  };
  const found = new Set<string>();
  const visit = (entry: (typeof lock.packages)[string]): void => {
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      const dep = lock.packages[`node_modules/${name}`];
      if (dep === undefined || found.has(name)) continue; // an optional peer nobody installs (utf-8-validate)
      found.add(name);
      visit(dep);
    }
  };
  visit(lock.packages.relay!);
  return [...found].sort();
}

describe.skipIf(skip !== undefined)(`the relay image (${IMAGE})`, () => {
  const name = `portunus-relay-test-${process.pid}`;
  let port: number;
  let container: Proc;
  let tmp: { path: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    tmp = await tempDir('portunus-image-');
    port = await freePort();
    // The port comes from the environment, as the health check reads it; the flags after the image are the relay's.
    container = runPortunus(
      [
        'run',
        '--name',
        name,
        '--network=host',
        '--read-only',
        '-e',
        'PORTUNUS_RELAY_HOST=127.0.0.1',
        '-e',
        `PORTUNUS_RELAY_PORT=${port}`,
        IMAGE,
        '--json',
        '--verbose',
      ],
      { command: ['podman'], env: { CONTAINERS_CONF: podmanEnv.CONTAINERS_CONF } },
    );
    await container.waitEvent('listening', { timeoutMs: 60_000 });
  });

  afterAll(async () => {
    podman(['rm', '--force', '--time', '0', name]);
    if (container !== undefined) await exitOf(container);
    await tmp?.cleanup();
  });

  it('holds the relay package alone: its manifest, its bundle and its own production dependencies', () => {
    const list = (dir: string): string[] => {
      const r = podman(['run', '--rm', '--network=none', '--entrypoint', 'ls', IMAGE, '-1', dir]);
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.split('\n').filter(Boolean);
    };
    expect(list('/app')).toEqual(['dist', 'node_modules', 'package.json']);
    const scoped = list('/app/node_modules').flatMap((entry) =>
      entry.startsWith('@') ? list(`/app/node_modules/${entry}`).map((sub) => `${entry}/${sub}`) : [entry],
    );
    expect(scoped.sort()).toEqual(relayClosure());
    expect(relayClosure()).not.toContain('werift');
  });

  it('carries the OCI labels, the health check, the entrypoint and an unprivileged user', () => {
    const [image] = JSON.parse(podman(['image', 'inspect', IMAGE]).stdout) as {
      Config: { Labels: Record<string, string>; Entrypoint: string[]; User: string };
      Healthcheck?: { Test: string[] };
    }[];
    const labels = image!.Config.Labels;
    for (const key of ['title', 'description', 'source', 'licenses', 'version'])
      expect(labels).toHaveProperty(`org.opencontainers.image.${key}`);
    const cli = JSON.parse(readFileSync(join(ROOT, 'cli/package.json'), 'utf8')) as { version: string };
    expect(labels['org.opencontainers.image.version']).toBe(cli.version);
    expect(labels['org.opencontainers.image.licenses']).toBe('MIT');
    expect(image!.Healthcheck?.Test.join(' '), 'built without --format docker?').toMatch(/\/healthz/);
    expect(image!.Config.Entrypoint.at(-1)).toBe('dist/main.js');
    expect(image!.Config.User).toBe('node');
  });

  it('passes flags given after the image name to the relay (--json here, --verbose below)', () => {
    expect(container.events()[0]).toMatchObject({ event: 'listening', url: `ws://127.0.0.1:${port}/v1` });
  });

  it('reports healthy through its HEALTHCHECK', () => {
    const r = podman(['healthcheck', 'run', name]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('serves the page built into it at /', async () => {
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/<script[^>]+app\.js/);
  });

  it('moves a file between real send and receive processes', async () => {
    const moved = await moveFile(join(tmp.path, 'move'), `ws://127.0.0.1:${port}`);
    expect(moved.codes, moved.sender.stderr() + moved.receiver.stderr()).toEqual([0, 0]);
    expect(moved.receivedSha256).toBe(moved.sentSha256);
    // --verbose: the relay logged the clients' connections (debug lines, JSON as PORTUNUS_RELAY_LOG_FORMAT says).
    expect(container.stderr()).toMatch(/^\{.*"level":"debug".*\}$/m);
  });

  it(`stops gracefully during a transfer, exiting 0 before the ${STOP_TIMEOUT_S} s stop timeout's SIGKILL`, async () => {
    // A transfer that does not end by itself: the sender streams standard input, which stays open.
    const relay = `ws://127.0.0.1:${port}`;
    const sender = runPortunus(['send', '--json', '--transport', 'relay', '--relay', relay, '-', '--name', 'x.bin'], {
      stdin: 'pipe',
    });
    const code = String((await sender.waitEvent('code')).code);
    const receiver = runPortunus([
      'receive',
      '--json',
      '--yes',
      '--transport',
      'relay',
      '--relay',
      relay,
      '-o',
      '-',
      code,
    ]);
    sender.child.stdin!.write(Buffer.alloc(100_000));
    await sender.waitEvent('connected');
    const stop = podman(['stop', '--time', String(STOP_TIMEOUT_S), name]);
    expect(stop.status, stop.stderr).toBe(0);
    // 137 would be SIGKILL's: the grace did not end inside the stop timeout.
    expect(await exitOf(container)).toBe(0);
    expect(
      execFileSync('podman', ['inspect', '--format', '{{.State.ExitCode}}', name], { env: podmanEnv })
        .toString()
        .trim(),
    ).toBe('0');
    const logged = container
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { event?: string });
    const events = logged.map((e) => e.event);
    expect(events).toContain('shutting down');
    expect(events).toContain('stopped');
    expect(container.events().at(-1)).toEqual({ event: 'stopped' });
    // The transfer the relay was carrying ends with the relay's shutdown, not with a hang.
    sender.child.stdin!.end();
    expect(await exitOf(sender)).not.toBe(0);
    expect(await exitOf(receiver)).not.toBe(0);
  });
});
