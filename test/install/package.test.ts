/**
 * The package as npm users get it, away from this clone: `npm pack`, then the tarball installed into an empty folder
 * (`npm i ./portunus-cli-….tgz`) and globally into a prefix (`npm i -g --prefix DIR …`), both at once. A relay from
 * one install, a sender from the other and a receiver through `npx portunus` then move a file on 127.0.0.1.
 *
 * The CLI workspace (cli/) is what is published: its prepack bundles it (esbuild, a second or two) and copies the
 * README and PROTOCOL.md in. Installs use npm's cache first (`--prefer-offline`); the network, if needed at all, is
 * the npm registry.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, type Proc } from '../../cli/test/e2e/harness.js';
import { probe } from '../../cli/test/startup/probe.js';

const repo = resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(repo, 'cli/package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
};

let tmp: string;
let tarball: string;
let packed: string[];
let local: string;
let globalPrefix: string;
let relay: Proc | undefined;
let relayUrl: string;

/** PATH with this Node first (the bins start with `#!/usr/bin/env node`) and without this clone's node_modules/.bin. */
const PATH = [
  dirname(process.execPath),
  ...(process.env.PATH ?? '').split(delimiter).filter((dir) => !dir.startsWith(repo)),
].join(delimiter);

/** Runs an installed `portunus` (the bin at `bin`, or `npx …`) in `cwd`. */
const runIn = (cwd: string, command: string[], args: string[], stdin?: 'pipe'): Proc =>
  runPortunus(args, { cwd, command, env: { PATH }, stdin });

/** Runs `npm …` in `cwd`; resolves with its output, rejects with it on a non-zero exit. */
function npm(args: string[], cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd,
      env: { ...process.env, PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolvePromise(out) : reject(new Error(`npm ${args.join(' ')} exited ${code}:\n${out}`)),
    );
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'portunus-package-'));
  const output = await npm(['pack', '--workspace', 'cli', '--json', '--pack-destination', tmp], repo);
  const [entry] = JSON.parse(output.slice(output.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = join(tmp, entry!.filename);
  packed = entry!.files.map((f) => f.path);
  local = join(tmp, 'empty-folder');
  globalPrefix = join(tmp, 'global');
  await mkdir(local);
  await Promise.all([
    npm(['install', tarball], local),
    // --allow-scripts: npm versions that skip dependencies' install scripts by default (11.x) then run our postinstall.
    npm(['install', '--global', '--prefix', globalPrefix, `--allow-scripts=${pkg.name}`, tarball], tmp),
  ]);
  relay = runIn(
    local,
    [join(local, 'node_modules/.bin/portunus')],
    ['relay', '--host', '127.0.0.1', '--port', '0', '--json'],
    'pipe',
  );
  relayUrl = String((await relay.waitEvent('listening')).url);
}, 240_000);

afterAll(async () => {
  if (relay !== undefined && relay.child.exitCode === null) relay.child.kill('SIGKILL');
  await relay?.exited;
  await rm(tmp, { recursive: true, force: true });
});

describe(`the npm package ${pkg.name}`, () => {
  it('is named for npm users and runs as `portunus`: one bin, so `npx -y <package>` runs it', () => {
    expect(pkg.name).toBe('portunus-cli');
    expect(Object.keys(pkg.bin)).toEqual(['portunus']);
  });

  it('every README line that fetches it from npm names the package, and the upgrade hint does too', async () => {
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const fetched = [
      ...readme.matchAll(/npx -y ([\w@./-]+?)[`\s)]|npm i(?:nstall)? (?:-g|--global) (?:--\S+ )*([\w@./-]+?)[`\s)]/g),
    ].map((m) => m[1] ?? m[2]);
    expect(fetched.length).toBeGreaterThanOrEqual(4);
    // Each names the package, or the tarball `npm pack` writes for it.
    expect(new Set(fetched)).toEqual(new Set([pkg.name, `${pkg.name}@latest`, `./${pkg.name}-${pkg.version}.tgz`]));
    const { ERROR_GUIDE } = await import('../../cli/src/ui/error-guide.js');
    expect(ERROR_GUIDE.RELAY_INCOMPATIBLE.hint).toContain(`npm i -g ${pkg.name}@latest`);
  });

  it('packs the bundled CLI (protocol and relay inside) with its code cache and postinstall, and no sources or tests', () => {
    const files = [
      'bin/portunus',
      'bin/package.json',
      'dist/main.cjs',
      'scripts/apply-patches.cjs',
      'README.md',
      'PROTOCOL.md',
    ];
    for (const path of files) expect(packed, path).toContain(path);
    expect(packed.filter((p) => /^dist\/main\.cjs\.[0-9a-f]{16}\.cache$/.test(p))).toHaveLength(1);
    expect(packed.some((p) => p.startsWith('patches/') && p.endsWith('.patch'))).toBe(true);
    expect(packed.filter((p) => p.endsWith('.ts') || p.includes('test') || p.includes('bench'))).toEqual([]);
  });

  it('installed globally with its install script allowed, the postinstall patched werift', () => {
    const bundle = readFileSync(
      join(globalPrefix, 'lib/node_modules', pkg.name, 'node_modules/werift/lib/index.mjs'),
      'utf8',
    );
    expect((bundle.match(/patch\(/g) ?? []).length).toBeGreaterThanOrEqual(8);
  });

  it('both installs report their version, starting from the packed code cache, and the relay serves it on /healthz', async () => {
    for (const bin of [join(local, 'node_modules/.bin/portunus'), join(globalPrefix, 'bin/portunus')]) {
      const p = runIn(tmp, [bin], ['--version']);
      expect(await exitOf(p)).toBe(0);
      expect(p.stdout().trim()).toBe(pkg.version);
      expect(probe([bin, '--version'])).toMatchObject({ cacheGiven: true, cacheRejected: false });
    }
    const health = (await (await fetch(relayUrl.replace(/^ws/, 'http').replace(/\/v1$/, '/healthz'))).json()) as {
      version: string;
    };
    expect(health.version).toBe(pkg.version);
  });

  it('sends from the global install and receives through `npx portunus` in the folder', async () => {
    const src = join(tmp, 'src');
    await mkdir(src);
    const content = randomBytes(200_000);
    await writeFile(join(src, 'data.bin'), content);
    const sender = runIn(
      src,
      [join(globalPrefix, 'bin/portunus')],
      ['send', '--json', '--relay', relayUrl, 'data.bin'],
    );
    const code = String((await sender.waitEvent('code')).code);
    const receiver = runIn(
      local,
      ['npx', '--offline', 'portunus'],
      ['receive', '--json', '--yes', '--relay', relayUrl, code],
    );
    const codes = await Promise.all([exitOf(sender, 60_000), exitOf(receiver, 60_000)]);
    expect(codes, sender.stderr() + receiver.stderr()).toEqual([0, 0]);
    expect((await readFile(join(local, 'data.bin'))).equals(content)).toBe(true);
    expect(existsSync(join(local, 'node_modules', pkg.name, 'dist/main.cjs'))).toBe(true);
  });
});
