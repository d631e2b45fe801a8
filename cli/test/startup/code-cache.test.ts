/**
 * cli/bin/portunus runs the bundle from the V8 code cache the build made (scripts/code-cache.mjs), named after the
 * build: a start takes it, a cache of another build is never found, and one V8 refuses is ignored. Issue #18.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../e2e/harness.js';
import { probe } from './probe.js';

const DIST = join(ROOT, 'cli/dist');
const bundleText = readFileSync(join(DIST, 'main.cjs'), 'utf8');
const buildId = /^\/\/ build ([0-9a-f]{16})\n/.exec(bundleText)?.[1];
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'cli/package.json'), 'utf8')) as { version: string }).version;

/** A copy of the CLI (bin/ and dist/main.cjs) in a folder of its own, with `text` as its bundle. */
function copyCli(dir: string, text: string, caches: string[]): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'dist'));
  for (const name of ['portunus', 'package.json']) copyFileSync(join(ROOT, 'cli/bin', name), join(dir, 'bin', name));
  writeFileSync(join(dir, 'dist/main.cjs'), text);
  for (const name of caches) copyFileSync(join(DIST, name), join(dir, 'dist', name));
  return join(dir, 'bin/portunus');
}

/** `node [flags] bin args`: exit status and stdout. */
function run(flags: string[], bin: string, args: string[]): [number | null, string] {
  const done = spawnSync(process.execPath, [...flags, bin, ...args], { encoding: 'utf8' });
  return [done.status, done.stdout];
}

describe('the CLI starts from its build’s code cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portunus-code-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cache = `main.cjs.${buildId}.cache`;

  it('the build made one cache, named after the bundle, and a start takes it', () => {
    expect(buildId).toBeDefined();
    expect(readdirSync(DIST).filter((name) => name.endsWith('.cache'))).toEqual([cache]);
    for (const args of [['--help'], ['send', '--help'], ['--version']]) {
      expect(probe([BIN, ...args])).toMatchObject({ cacheGiven: true, cacheRejected: false });
    }
  });

  it('a cache made for another build is not found: the bundle is compiled, and works', () => {
    // Same length, which is all V8 compares: the id differs, as after any change to the sources.
    const other = bundleText.replace(`// build ${buildId!}`, `// build ${'f'.repeat(16)}`);
    const bin = copyCli(join(dir, 'other'), other, [cache]);
    expect(probe([bin, '--version'])).toMatchObject({ cacheGiven: false });
    expect(run([], bin, ['--version'])).toEqual([0, `${VERSION}\n`]);
  });

  it('a cache V8 refuses (other V8 flags than the build’s) is ignored, and the CLI works', () => {
    const bin = copyCli(join(dir, 'same'), bundleText, [cache]);
    expect(probe([bin, '--version'])).toMatchObject({ cacheGiven: true, cacheRejected: false });
    const flag = '--no-lazy-feedback-allocation';
    expect(probe([flag, bin, '--version'])).toMatchObject({ cacheGiven: true, cacheRejected: true });
    const [status, stdout] = run([flag], bin, ['send', '--help']);
    expect([status, stdout.split('\n')[0]]).toEqual([0, 'Usage: portunus send [options] [paths...]']);
  });
});
