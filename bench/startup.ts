/**
 * Start-up (issue #18), each figure beside `node -e 0` measured in the same run, the commands alternating A B C …
 * so that what the machine does meanwhile falls on all alike: `portunus --help` and `portunus send --help` (target:
 * at most 1.5× node -e 0, wall, median), and a 1 KiB send → receive through a relay on loopback with both processes
 * started together (target: at most 3×). Beside each, a floor measured the same way: node loading only the npm
 * packages that command cannot do without (commander for help; commander, ws and @noble for a transfer), so
 * what is left above the floor is the CLI's own. CPU is user + system from GNU time (the mean of the runs, which
 * resolves to 1 ms where one run's figure is in 10 ms steps); without /usr/bin/time only wall times are shown.
 *   node dist/bench/startup.js [--runs N]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startedAs } from './entry.js';
import { BIN, fmt, ROOT, spawnPortunus } from './processes.js';

const GNU_TIME = '/usr/bin/time';

export interface Timing {
  /** Median wall milliseconds over the runs. */
  wallMs: number;
  /** Mean user + system CPU milliseconds per run (all processes of the row); NaN without GNU time. */
  cpuMs: number;
}

interface Command {
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

/** One process to its exit; wall measured here, CPU by GNU time when there is one. */
async function timeOne(cmd: Command, dir: string, n: number): Promise<{ wallMs: number; cpuMs: number }> {
  const usage = join(dir, `time-${n}.txt`);
  const timed = existsSync(GNU_TIME);
  const argv = timed ? [GNU_TIME, '-f', '%U %S', '-o', usage, ...cmd.argv] : cmd.argv;
  const started = performance.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: ROOT,
      stdio: 'ignore',
      env: { ...process.env, ...cmd.env },
    });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c));
  });
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`${cmd.argv.join(' ')} exited ${code}`);
  if (!timed) return { wallMs, cpuMs: NaN };
  const [user, system] = (await readFile(usage, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number);
  return { wallMs, cpuMs: (user! + system!) * 1000 };
}

/** Several processes started together; wall until the last exits, CPU summed. */
async function timeTogether(cmds: Command[], dir: string, n: number): Promise<{ wallMs: number; cpuMs: number }> {
  const started = performance.now();
  const each = await Promise.all(cmds.map((cmd, i) => timeOne(cmd, dir, n * 10 + i)));
  return { wallMs: performance.now() - started, cpuMs: each.reduce((sum, t) => sum + t.cpuMs, 0) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export interface StartupFigures {
  runs: number;
  node: Timing;
  commanderFloor: Timing;
  help: Timing;
  sendHelp: Timing;
  transferFloor: Timing;
  /** 1 KiB through the relay, sender and receiver started together. */
  transfer: Timing;
}

const node = (code: string): Command => ({ argv: [process.execPath, '--input-type=module', '-e', code] });
/** What a transfer cannot do without: commander, ws (as the CLI loads it, with require) and the CPace curve. */
const TRANSFER_PACKAGES =
  "import 'commander'; import '@noble/curves/ed25519.js'; import '@noble/hashes/sha2.js'; " +
  "import { createRequire } from 'node:module'; createRequire(import.meta.url)('ws');";

export async function runStartupBench(opts: { runs: number; bin?: string }): Promise<StartupFigures> {
  const bin = opts.bin ?? BIN;
  const dir = await mkdtemp(join(tmpdir(), 'portunus-bench-startup-'));
  const relay = spawnPortunus(['relay', '--host', '127.0.0.1', '--port', '0', '--json'], { bin });
  try {
    const url = String((await relay.waitEvent('listening')).url);
    const payload = join(dir, 'one-kib.bin');
    await writeFile(payload, Buffer.alloc(1024, 7));
    let nameplate = 100_000 + Math.floor(Math.random() * 800_000);
    const transfer = (n: number): Command[] => {
      // A fresh nameplate per run (a used one may still be held); the secret is fixed, the bench has no adversary.
      const env = { PORTUNUS_CODE: `${nameplate++}-BEN-CH0` };
      const common = ['--json', '--relay', url];
      return [
        { argv: [bin, 'send', ...common, '--no-qr', payload], env },
        { argv: [bin, 'receive', ...common, '--yes', '-o', join(dir, `got-${n}.bin`)], env },
      ];
    };
    const rows: Record<keyof Omit<StartupFigures, 'runs'>, (n: number) => Command[]> = {
      node: () => [{ argv: [process.execPath, '-e', '0'] }],
      commanderFloor: () => [node("import 'commander';")],
      help: () => [{ argv: [bin, '--help'] }],
      sendHelp: () => [{ argv: [bin, 'send', '--help'] }],
      transferFloor: () => [node(TRANSFER_PACKAGES), node(TRANSFER_PACKAGES)],
      transfer,
    };
    const got = Object.fromEntries(Object.keys(rows).map((k) => [k, { wall: [] as number[], cpu: [] as number[] }]));
    let n = 0;
    // One warm-up round (page cache, the relay's first pairing), then `runs` alternating rounds.
    for (let round = -1; round < opts.runs; round++) {
      for (const [name, cmds] of Object.entries(rows)) {
        const t = await timeTogether(cmds(n), dir, n++);
        if (round < 0) continue;
        got[name]!.wall.push(t.wallMs);
        got[name]!.cpu.push(t.cpuMs);
      }
    }
    const timing = (name: string): Timing => ({ wallMs: median(got[name]!.wall), cpuMs: mean(got[name]!.cpu) });
    return {
      runs: opts.runs,
      node: timing('node'),
      commanderFloor: timing('commanderFloor'),
      help: timing('help'),
      sendHelp: timing('sendHelp'),
      transferFloor: timing('transferFloor'),
      transfer: timing('transfer'),
    };
  } finally {
    relay.child.kill('SIGTERM');
    await relay.exit;
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatStartup(f: StartupFigures): string[] {
  const base = f.node;
  const cpu = (t: Timing) =>
    Number.isNaN(t.cpuMs) ? '' : `, ${fmt(t.cpuMs, 0)} ms CPU (${fmt(t.cpuMs / base.cpuMs, 2)}×)`;
  const row = (label: string, t: Timing, target?: number) => {
    const ratio = t.wallMs / base.wallMs;
    const verdict =
      target === undefined ? '' : ratio <= target ? `  target ≤ ${target}×: met` : `  target ≤ ${target}×: NOT met`;
    return `${label.padEnd(44)} ${fmt(t.wallMs, 0).padStart(5)} ms wall (${fmt(ratio, 2)}× node -e 0)${cpu(t)}${verdict}`;
  };
  return [
    `median wall of ${f.runs} alternating runs; CPU: mean per run, user + system of every process in the row`,
    row('node -e 0 (the reference)', base),
    row('floor: node importing commander', f.commanderFloor),
    row('portunus --help', f.help, 1.5),
    row('portunus send --help', f.sendHelp, 1.5),
    row('floor: 2 × node importing commander, ws, @noble', f.transferFloor),
    row('1 KiB send → receive via a loopback relay', f.transfer, 3),
  ];
}

if (startedAs('startup.js')) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
  const runs = Number(values.runs);
  runStartupBench({ runs })
    .then((f) => {
      console.log(`portunus bench: start-up — Node ${process.version}, ${new Date().toISOString()}`);
      for (const line of formatStartup(f)) console.log(line);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
