/**
 * What every start of `portunus` loads and runs before parsing its arguments, seen in the built CLI (cli/dist, `npm
 * run build`). Help, --version and usage errors need commander and the option definitions, nothing else; the
 * protocol's crypto (@noble/*), the transports and the file machinery are dynamic imports, whose modules esbuild wraps
 * in lazy inits (scripts/build.mjs): they run only for the action that imports them. A static import of the protocol's
 * barrel (`@portunus/protocol` rather than a subpath such as `@portunus/protocol/errors`) in a module the options
 * reach would bring the curve back into every start. Issue #18: start-up time.
 *
 * Two views of one `--help`: a preloaded probe (probe.cjs) reports the builtins and CommonJS files the process
 * loaded; V8's function log (`--log-function-events`, which only works without the code cache, so the bundle is run
 * directly) gives every function that ran, which esbuild's `// <path>` comments place in the module it came from.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../e2e/harness.js';
import { PROBE, probe } from './probe.js';

const BUNDLE = join(ROOT, 'cli/dist/main.cjs');

/** The bundle's modules whose code ran during `node <bundle> <args>`, with the size of each module's code. */
function modulesRun(args: string[], dir: string): Map<string, number> {
  const text = readFileSync(BUNDLE, 'utf8');
  // esbuild's comment before each module's code: its path from the working directory (`../…/node_modules/…` when
  // node_modules is a link to another tree).
  const marks = [...text.matchAll(/^\/\/ (\S+\.(?:[cm]?js|ts))$/gm)].map((m) => ({
    at: m.index,
    path: m[1]!,
  }));
  const log = join(dir, `${args.join('-')}.log`);
  execFileSync(
    process.execPath,
    ['--log-function-events', `--logfile=${log}`, '--no-logfile-per-isolate', BUNDLE, ...args],
    {
      stdio: 'ignore',
    },
  );
  const lines = readFileSync(log, 'utf8').split('\n');
  const scriptId = lines.find((l) => l.startsWith('script-details,') && l.split(',')[2] === BUNDLE)?.split(',')[1];
  expect(scriptId).toBeDefined();
  const ran = new Map<string, number>();
  for (const line of lines) {
    const [kind, event, id, start] = line.split(',');
    if (kind !== 'function' || event !== 'first-execution' || id !== scriptId) continue;
    let i = -1;
    while (i + 1 < marks.length && marks[i + 1]!.at <= Number(start)) i++;
    if (i < 0) continue; // esbuild's own helpers, before the first module
    ran.set(marks[i]!.path, (marks[i + 1]?.at ?? text.length) - marks[i]!.at);
  }
  return ran;
}

/** Builtins a start loads beyond Node's own: argument parsing's, and commander's (child_process: its subcommands). */
const START_BUILTINS = new Set([
  'fs',
  'path',
  'module',
  'os',
  'net',
  'url',
  'vm',
  'stream',
  'stream/promises',
  'string_decoder',
  'diagnostics_channel',
  'process',
  'dgram',
  'child_process',
]);

describe('start-up loads only what parsing the arguments needs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portunus-startup-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('no npm package is required at start-up (commander and @noble are bundled), and no heavy builtin', () => {
    const nodeOwn = new Set(probe(['-e', '0']).builtins);
    for (const args of [['--help'], ['send', '--help'], ['receive', '--help']]) {
      const report = probe([BIN, ...args]);
      expect(
        report.required.filter((f) => f !== PROBE && f !== BIN),
        args.join(' '),
      ).toEqual([]);
      // node:crypto, fs/promises, v8, zlib, http and tls come with the action that needs them.
      expect(
        report.builtins.filter((b) => !START_BUILTINS.has(b) && !nodeOwn.has(b)),
        args.join(' '),
      ).toEqual([]);
    }
  });

  it('no code of the curve, the hashes, ws or the data plane runs at start-up', () => {
    for (const args of [['--help'], ['send', '--help']]) {
      const ran = [...modulesRun(args, dir).keys()];
      expect(
        ran.filter((path) =>
          /@noble|node_modules\/ws\/|cpace|client\/src\/(session|data-plane|relay-client)/.test(path),
        ),
      ).toEqual([]);
      expect(ran.some((path) => path.endsWith('node_modules/commander/lib/command.js'))).toBe(true); // the log sees what runs
    }
  });

  it('what runs at start-up is small: the options, commander and a few helpers', () => {
    // Today ~50 modules, ~220 kB of the bundle's ~930 kB with commander (~110 kB); a jump means a heavy static import.
    const bytes = [...modulesRun(['--help'], dir).values()].reduce((sum, size) => sum + size, 0);
    expect(bytes).toBeLessThan(320_000);
  });
});
