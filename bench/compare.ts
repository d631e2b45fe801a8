/**
 * `npm run bench:compare -- --ref <git-ref> [--runs N] [--bytes SIZE] [--paths relay,tcp,auto]`: this checkout (B)
 * against another commit's build (A) in one run, as issue 13 asks ("build both, alternate runs"). The ref is
 * checked out and built in a temporary worktree (checkout.ts); then each path sends the same payload file through
 * both builds' relay, send and receive processes (transfer.ts), alternating A B A B … N times each, so what the
 * machine does meanwhile falls on both alike. Prints every run, then the table and verdict of compare-report.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { addCheckout, describeHead } from './checkout.js';
import { BUILDS, formatComparison, type BuildLabel, type Comparison, type PathComparison } from './compare-report.js';
import { makeRandomFile } from './payload.js';
import { BIN, fmt, mb, ROOT, stopBenchProcesses } from './processes.js';
import { runTransferBench, type TransferFigures } from './transfer.js';
import { startedAs } from './entry.js';

/** --transport values both an older build (auto|tcp|webrtc|relay) and today's (auto, or a list) accept. */
const PATHS = ['relay', 'tcp', 'auto', 'webrtc'] as const;

export interface CompareOptions {
  ref: string;
  runs: number;
  bytes: number;
  paths: string[];
}

const USAGE = 'usage: npm run bench:compare -- --ref <git-ref> [--runs N] [--bytes SIZE] [--paths relay,tcp,auto]';

export function parseCompareArgs(argv: string[]): CompareOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      ref: { type: 'string' },
      runs: { type: 'string', default: '3' },
      bytes: { type: 'string', default: '1GiB' },
      paths: { type: 'string', default: 'relay,tcp,auto' },
    },
  });
  if (values.ref === undefined) throw new Error(USAGE);
  const runs = /^[1-9]\d?$/.test(values.runs) ? Number(values.runs) : NaN;
  if (Number.isNaN(runs)) throw new Error(`--runs: expected 1 to 99, got '${values.runs}'`);
  const paths = values.paths.split(',');
  const unknown = paths.filter((p) => !(PATHS as readonly string[]).includes(p));
  if (unknown.length > 0 || paths.length === 0)
    throw new Error(`--paths: expected a list of ${PATHS.join(', ')}, got '${values.paths}'`);
  return { ref: values.ref, runs, bytes: parseSize(values.bytes), paths: [...new Set(paths)] };
}

const UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30 };

/** `200MB` = 200·10⁶ bytes, `1GiB` = 2³⁰, `4096` = 4096 bytes (the B is optional, case is ignored). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?)?b?$/i.exec(text.trim());
  const bytes = m ? Math.round(Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]!) : NaN;
  if (!(bytes >= 1)) throw new Error(`--bytes: expected a size such as 200MB or 1GiB, got '${text}'`);
  return bytes;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

const describeRun = (label: BuildLabel, i: number, f: TransferFigures) =>
  `${label} run ${i + 1}: ${fmt(f.mbps)} MB/s, CPU s ${fmt(f.cpuSeconds.sender, 2)}/${fmt(f.cpuSeconds.receiver, 2)}/${fmt(f.cpuSeconds.relay, 2)}, ` +
  `RSS MB ${fmt(mb(f.peakRss.sender), 0)}/${fmt(mb(f.peakRss.receiver), 0)}/${fmt(mb(f.peakRss.relay), 0)} (sender/receiver/relay), via ${f.transport}${f.sha256Match ? '' : ', SHA-256 MISMATCH'}`;

/** Each path: A B A B …, `runs` times each, the same payload for all. */
async function measure(
  opts: CompareOptions,
  bins: Record<BuildLabel, string>,
  log: (line: string) => void,
  stop: AbortSignal,
): Promise<PathComparison[]> {
  const dir = await mkdtemp(join(tmpdir(), 'portunus-bench-compare-'));
  try {
    const file = join(dir, 'payload.bin');
    const payload = { path: file, sha256: await makeRandomFile(file, opts.bytes) };
    const out: PathComparison[] = [];
    for (const path of opts.paths) {
      const p: PathComparison = { path, A: { runs: [], errors: [] }, B: { runs: [], errors: [] } };
      out.push(p);
      log(`-- ${path}`);
      for (let i = 0; i < opts.runs; i++) {
        for (const label of BUILDS) {
          stop.throwIfAborted();
          try {
            const got = await runTransferBench({ bytes: opts.bytes, transport: path, payload, bin: bins[label] });
            p[label].runs.push(got);
            log(describeRun(label, i, got));
          } catch (err) {
            const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
            p[label].errors.push(message);
            log(`${label} run ${i + 1}: FAILED: ${message}`);
          }
        }
      }
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Builds the ref, measures, and removes the worktree and every temporary file again; `stop` (a signal, say) ends the
 * build or the runs early, with the same clean-up.
 */
export async function runCompare(
  opts: CompareOptions,
  log: (line: string) => void,
  stop: AbortSignal,
): Promise<Comparison> {
  const head = describeHead(ROOT);
  const ref = addCheckout(ROOT, opts.ref);
  try {
    log(`building ${ref.commit} in ${ref.dir}: npm ci …`);
    const started = performance.now();
    const bin = await ref.build(stop);
    log(`built ${ref.commit} in ${fmt((performance.now() - started) / 1000, 0)} s`);
    log(
      `${fmt(mb(opts.bytes), 0)} MB, ${plural(opts.runs, 'run')} per build and path, alternating A B; paths: ${opts.paths.join(', ')}`,
    );
    const paths = await measure(opts, { A: bin, B: BIN }, log, stop);
    const builds = {
      A: `${ref.commit} (--ref ${opts.ref}), built in a temporary worktree`,
      B: `${head} (this checkout${head.endsWith('+') ? ', with uncommitted changes' : ''})`,
    };
    return { bytes: opts.bytes, builds, paths };
  } finally {
    ref.remove();
  }
}

/**
 * SIGINT or SIGTERM stops the bench's processes and aborts the returned signal, so that the run unwinds through its
 * clean-up (a worktree left behind would stay registered in the shared .git); a second signal ends it at once.
 * Ctrl-C reaches the child processes anyway, `kill <pid>` does not.
 */
function stopOnSignal(): AbortSignal {
  const stopping = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    process.exitCode = signal === 'SIGINT' ? 130 : 143;
    stopping.abort(new Error(`stopped by ${signal}`));
    stopBenchProcesses();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return stopping.signal;
}

if (startedAs('compare.js')) {
  const started = performance.now();
  Promise.resolve()
    .then(() => parseCompareArgs(process.argv.slice(2)))
    .then(async (opts) => {
      console.log(`portunus bench:compare — Node ${process.version}, ${new Date().toISOString()}`);
      const comparison = await runCompare(opts, (line) => console.log(line), stopOnSignal());
      console.log(
        `\n== ${opts.paths.join(', ')}: B against A, ${plural(opts.runs, 'alternating run')} each (${fmt((performance.now() - started) / 60_000)} min) ==`,
      );
      for (const line of formatComparison(comparison)) console.log(line);
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode ||= 1;
    });
}
