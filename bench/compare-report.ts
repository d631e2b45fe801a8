/**
 * The figures of a two-build comparison (compare.ts) and their table: per path, MB/s and CPU-s per GiB of each
 * build as median and range over its runs, B/A of the medians, and issue 13's criterion — B no worse than A by more
 * than 5%: throughput at least 0.95× A's, CPU-s per GiB at most 1.05× (sender + receiver on every path, and the
 * relay process on the relay path, where it forwards every byte; elsewhere it only pairs the peers).
 */
import { fmt, mb } from './processes.js';
import type { TransferFigures } from './transfer.js';

export type BuildLabel = 'A' | 'B';
export const BUILDS: readonly BuildLabel[] = ['A', 'B'];

export interface BuildRuns {
  runs: TransferFigures[];
  errors: string[];
}

export interface PathComparison {
  /** The --transport value. */
  path: string;
  A: BuildRuns;
  B: BuildRuns;
}

export interface Comparison {
  bytes: number;
  /** What each build is, e.g. `8ecf126 (--ref v0.1.0)`. */
  builds: Record<BuildLabel, string>;
  paths: PathComparison[];
}

/** Issue 13: "no worse than 5%". */
export const TOLERANCE = 0.05;
const GiB = 1024 * 1024 * 1024;

interface Spread {
  median: number;
  min: number;
  max: number;
}

function spread(values: number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

const perGiB = (seconds: number, bytes: number) => (seconds * GiB) / bytes;

/** The measures of one build on one path, over its runs. */
function measures(b: BuildRuns) {
  return {
    mbps: spread(b.runs.map((r) => r.mbps)),
    cpu: spread(b.runs.map((r) => perGiB(r.cpuSeconds.sender + r.cpuSeconds.receiver, r.bytes))),
    relayCpu: spread(b.runs.map((r) => perGiB(r.cpuSeconds.relay, r.bytes))),
  };
}

/** One measure of one path, B against A. */
export interface Check {
  what: 'MB/s' | 'CPU-s/GiB' | 'relay CPU-s/GiB';
  /** B/A of the medians; undefined where a build has no completed run. */
  ratio?: number;
  ok: boolean;
  /** A's and B's ranges overlap: a difference this run's noise may explain (more --runs would tell). */
  overlap: boolean;
}

export interface Verdict {
  path: string;
  checks: Check[];
  /** Every run completed and every received file matched. */
  clean: boolean;
  ok: boolean;
}

export function verdict(p: PathComparison): Verdict {
  const a = measures(p.A);
  const b = measures(p.B);
  const check = (what: Check['what'], x: Spread | undefined, y: Spread | undefined, higherIsBetter: boolean): Check => {
    if (x === undefined || y === undefined) return { what, ok: false, overlap: false };
    const ratio = y.median / x.median;
    const ok = higherIsBetter ? ratio >= 1 - TOLERANCE : ratio <= 1 + TOLERANCE;
    return { what, ratio, ok, overlap: x.min <= y.max && y.min <= x.max };
  };
  const checks = [check('MB/s', a.mbps, b.mbps, true), check('CPU-s/GiB', a.cpu, b.cpu, false)];
  if (p.path === 'relay') checks.push(check('relay CPU-s/GiB', a.relayCpu, b.relayCpu, false));
  const clean = BUILDS.every((l) => p[l].errors.length === 0 && p[l].runs.every((r) => r.sha256Match));
  return { path: p.path, checks, clean, ok: clean && checks.every((c) => c.ok) };
}

function formatVerdict(v: Verdict): string {
  const checks = v.checks.map(
    (c) =>
      `${c.what} ${c.ratio === undefined ? '—' : `${fmt(c.ratio, 3)}×`}${!c.ok && c.overlap ? ' (ranges overlap)' : ''}`,
  );
  return `  ${v.ok ? 'yes' : 'NO '}  ${v.path}: ${checks.join(', ')}${v.clean ? '' : ', a run failed or a file differed'}`;
}

const range = (s: Spread | undefined, digits: number) =>
  s === undefined ? '—' : `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;

function peakRss(b: BuildRuns): string {
  if (b.runs.length === 0) return '—';
  const top = (side: 'sender' | 'receiver' | 'relay') => fmt(mb(Math.max(...b.runs.map((r) => r.peakRss[side]))), 0);
  return `${top('sender')}/${top('receiver')}/${top('relay')}`;
}

function carriedBy(b: BuildRuns): string {
  const kinds = [...new Set(b.runs.map((r) => r.transport))].join(',') || '—';
  const bad = b.runs.filter((r) => !r.sha256Match).length;
  return bad === 0 ? kinds : `${kinds}, ${bad} SHA-256 MISMATCH`;
}

const COLUMNS = `${'path'.padEnd(6)} ${'build'.padEnd(5)} ${'MB/s median (range)'.padEnd(24)} ${'CPU-s/GiB send+recv'.padEnd(22)} ${'relay CPU-s/GiB'.padEnd(22)} ${'peak RSS MB s/r/relay'.padEnd(22)} carried by`;

export function formatComparison(c: Comparison): string[] {
  const lines = [
    `A = ${c.builds.A}`,
    `B = ${c.builds.B}`,
    `${fmt(mb(c.bytes), 0)} MB per run; CPU-s/GiB: sender and receiver from start to exit, the relay from its start to the end of the transfer`,
    COLUMNS,
  ];
  const verdicts: Verdict[] = [];
  for (const p of c.paths) {
    for (const label of BUILDS) {
      const b = p[label];
      const m = measures(b);
      lines.push(
        `${(label === 'A' ? p.path : '').padEnd(6)} ${label.padEnd(5)} ${range(m.mbps, 1).padEnd(24)} ${range(m.cpu, 2).padEnd(22)} ${range(m.relayCpu, 2).padEnd(22)} ${peakRss(b).padEnd(22)} ${carriedBy(b)}`,
      );
      for (const error of b.errors) lines.push(`${''.padEnd(6)} ${label.padEnd(5)} FAILED: ${error}`);
    }
    verdicts.push(verdict(p));
  }
  lines.push(
    `B no worse than A by more than ${TOLERANCE * 100}% (issue 13: B/A of the medians, MB/s ≥ ${1 - TOLERANCE}, CPU-s/GiB ≤ ${1 + TOLERANCE}):`,
  );
  for (const v of verdicts) lines.push(formatVerdict(v));
  return lines;
}
