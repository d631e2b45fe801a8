/**
 * Start-up (issue #18), each figure beside `node -e 0` measured in the same run, the commands alternating A B C …
 * so that what the machine does meanwhile falls on all alike: `portunus --help` and `portunus send --help` (target:
 * at most 1.5× node -e 0, wall, median), and a 1 KiB send → receive through a relay on loopback with both processes
 * started together (target: at most 3×). Beside each, a floor measured the same way: node loading only the npm
 * packages that command cannot do without (commander for help; commander, ws and @noble for a transfer), as npm
 * installs them. The CLI starts from its V8 code cache (cli/bin/portunus), which these floors have not, so it may
 * come in under a floor's loading cost; what is left above is the CLI's own. CPU is user + system from GNU time (the
 * mean of the runs, which resolves to 1 ms where one run's figure is in 10 ms steps); without /usr/bin/time only wall
 * times are shown.
 * With --ref-bin (another build's cli/bin/portunus, such as the one bench:compare or small-files builds) its
 * rows run beside this checkout's, alternating, marked (A).
 *   node dist/bench/startup.js [--runs N] [--ref-bin PATH]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startedAs } from './entry.js';
import { BIN, fmt, spawnPortunus } from './processes.js';
import { timeTogether, type Command, type Timing } from './timed.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A row: its label, the processes of one run, and its target as a multiple of node -e 0 (wall). */
interface Row {
  label: string;
  cmds: (n: number) => Command[];
  target?: number;
}

export interface StartupFigures {
  runs: number;
  rows: { label: string; timing: Timing; target?: number }[];
}

const node = (code: string): Command => ({ argv: [process.execPath, '--input-type=module', '-e', code] });
/** What a transfer cannot do without: commander, ws (as the CLI loads it, with require) and the CPace curve. */
const TRANSFER_PACKAGES =
  "import 'commander'; import '@noble/curves/ed25519.js'; import '@noble/hashes/sha2.js'; " +
  "import { createRequire } from 'node:module'; createRequire(import.meta.url)('ws');";

/** help, send --help and a 1 KiB transfer (through its own relay at `url`) of one build, labelled `tag`. */
function buildRows(bin: string, tag: string, url: string, dir: string, payload: string): Row[] {
  let nameplate = 100_000 + Math.floor(Math.random() * 800_000);
  const transfer = (n: number): Command[] => {
    // A fresh nameplate per run (a used one may still be held); the secret is fixed, the bench has no adversary.
    const env = { PORTUNUS_CODE: `${nameplate++}-BEN-CH0` };
    const common = ['--json', '--relay', url];
    return [
      { argv: [bin, 'send', ...common, '--no-qr', payload], env },
      { argv: [bin, 'receive', ...common, '--yes', '-o', join(dir, `got-${tag}-${n}.bin`)], env },
    ];
  };
  return [
    { label: `portunus --help${tag}`, cmds: () => [{ argv: [bin, '--help'] }], target: 1.5 },
    { label: `portunus send --help${tag}`, cmds: () => [{ argv: [bin, 'send', '--help'] }], target: 1.5 },
    { label: `1 KiB send → receive, loopback relay${tag}`, cmds: transfer, target: 3 },
  ];
}

/** This checkout's rows, and with `refBin` the same rows of another build (A), alternating with them. */
export async function runStartupBench(opts: { runs: number; refBin?: string }): Promise<StartupFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'portunus-bench-startup-'));
  const builds = [{ bin: BIN, tag: '' }, ...(opts.refBin === undefined ? [] : [{ bin: opts.refBin, tag: ' (A)' }])];
  const relays = builds.map(({ bin }) =>
    spawnPortunus(['relay', '--host', '127.0.0.1', '--port', '0', '--json'], { bin }),
  );
  try {
    const payload = join(dir, 'one-kib.bin');
    await writeFile(payload, Buffer.alloc(1024, 7));
    const rows: Row[] = [
      { label: 'node -e 0 (the reference)', cmds: () => [{ argv: [process.execPath, '-e', '0'] }] },
      { label: 'floor: node importing commander', cmds: () => [node("import 'commander';")] },
      {
        label: 'floor: 2 × node importing commander, ws, @noble',
        cmds: () => [node(TRANSFER_PACKAGES), node(TRANSFER_PACKAGES)],
      },
    ];
    for (const [i, { bin, tag }] of builds.entries()) {
      const url = String((await relays[i]!.waitEvent('listening')).url);
      rows.push(...buildRows(bin, tag, url, dir, payload));
    }
    const got = rows.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
    let n = 0;
    // One warm-up round (page cache, each relay's first pairing), then `runs` alternating rounds.
    for (let round = -1; round < opts.runs; round++) {
      for (const [i, row] of rows.entries()) {
        const t = await timeTogether(row.cmds(n), dir, n++);
        if (round < 0) continue;
        got[i]!.wall.push(t.wallMs);
        got[i]!.cpu.push(t.cpuMs);
      }
    }
    return {
      runs: opts.runs,
      rows: rows.map((row, i) => ({
        label: row.label,
        timing: { wallMs: median(got[i]!.wall), cpuMs: mean(got[i]!.cpu) },
        ...(row.target === undefined ? {} : { target: row.target }),
      })),
    };
  } finally {
    for (const relay of relays) relay.child.kill('SIGTERM');
    await Promise.all(relays.map((relay) => relay.exit));
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatStartup(f: StartupFigures): string[] {
  const base = f.rows[0]!.timing;
  const cpu = (t: Timing) =>
    Number.isNaN(t.cpuMs) ? '' : `, ${fmt(t.cpuMs, 0)} ms CPU (${fmt(t.cpuMs / base.cpuMs, 2)}×)`;
  const row = ({ label, timing: t, target }: StartupFigures['rows'][number]) => {
    const ratio = t.wallMs / base.wallMs;
    const verdict =
      target === undefined ? '' : ratio <= target ? `  target ≤ ${target}×: met` : `  target ≤ ${target}×: NOT met`;
    return `${label.padEnd(48)} ${fmt(t.wallMs, 0).padStart(5)} ms wall (${fmt(ratio, 2)}× node -e 0)${cpu(t)}${verdict}`;
  };
  return [
    `median wall of ${f.runs} alternating runs; CPU: mean per run, user + system of every process in the row`,
    ...f.rows.map(row),
  ];
}

if (startedAs('startup.js')) {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '10' }, 'ref-bin': { type: 'string' } },
  });
  const runs = Number(values.runs);
  runStartupBench({ runs, ...(values['ref-bin'] === undefined ? {} : { refBin: values['ref-bin'] }) })
    .then((f) => {
      console.log(`portunus bench: start-up — Node ${process.version}, ${new Date().toISOString()}`);
      for (const line of formatStartup(f)) console.log(line);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
