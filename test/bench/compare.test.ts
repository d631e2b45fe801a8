/**
 * bench:compare's pieces that decide what it prints: its arguments and issue 13's 5% verdict, from figures made up
 * here. No speed is measured here.
 */
import { describe, expect, it } from 'vitest';
import { parseCompareArgs, parseSize } from '../../bench/compare.js';
import { formatComparison, verdict, type BuildRuns, type Check } from '../../bench/compare-report.js';
import type { TransferFigures } from '../../bench/transfer.js';

const GiB = 1024 * 1024 * 1024;

function run(mbps: number, cpuPerSide: number, relayCpu = 0.5, sha256Match = true): TransferFigures {
  const triple = (n: number) => ({ sender: n, receiver: n, relay: n });
  return {
    bytes: GiB,
    seconds: GiB / 1e6 / mbps,
    mbps,
    firstByteSeconds: 0,
    transport: 'tcp',
    sha256Match,
    peakRss: triple(100e6),
    cpuSeconds: { sender: cpuPerSide, receiver: cpuPerSide, relay: relayCpu },
    dataCpuSeconds: { sender: cpuPerSide, receiver: cpuPerSide, relay: relayCpu },
  };
}
const runs = (...figures: TransferFigures[]): BuildRuns => ({ runs: figures, errors: [] });
const ratios = (checks: Check[]) =>
  Object.fromEntries(checks.map((c) => [c.what, c.ratio === undefined ? undefined : Number(c.ratio.toFixed(6))]));

describe('bench:compare arguments', () => {
  it('reads sizes in decimal and binary units', () => {
    expect(parseSize('200MB')).toBe(200e6);
    expect(parseSize('1GiB')).toBe(GiB);
    expect(parseSize('64kib')).toBe(65536);
    expect(parseSize('4096')).toBe(4096);
    for (const bad of ['', '0', 'MB', '3XB', '-1MB']) expect(() => parseSize(bad), bad).toThrow(/--bytes/);
  });

  it('defaults to 3 runs of 1 GiB over relay, tcp and auto, and needs --ref', () => {
    expect(parseCompareArgs(['--ref', '8ecf126'])).toEqual({
      ref: '8ecf126',
      runs: 3,
      bytes: GiB,
      paths: ['relay', 'tcp', 'auto'],
    });
    expect(parseCompareArgs(['--ref', 'v1', '--runs', '2', '--bytes', '200MB', '--paths', 'tcp,tcp,relay'])).toEqual({
      ref: 'v1',
      runs: 2,
      bytes: 200e6,
      paths: ['tcp', 'relay'],
    });
    expect(() => parseCompareArgs([])).toThrow(/--ref <git-ref>/);
    expect(() => parseCompareArgs(['--ref', 'x', '--runs', '0'])).toThrow(/--runs/);
    expect(() => parseCompareArgs(['--ref', 'x', '--paths', 'tcp,carrier-pigeon'])).toThrow(/--paths/);
  });
});

describe("issue 13's verdict: B no worse than A by more than 5%, on the medians", () => {
  it('accepts B at 0.95× the throughput and 1.05× the CPU, and rejects just beyond either', () => {
    expect(verdict({ path: 'tcp', A: runs(run(400, 2)), B: runs(run(380, 2.1)) }).ok).toBe(true);
    expect(verdict({ path: 'tcp', A: runs(run(400, 2)), B: runs(run(379, 2)) }).ok).toBe(false);
    expect(verdict({ path: 'tcp', A: runs(run(400, 2)), B: runs(run(400, 2.11)) }).ok).toBe(false);
  });

  it('judges the median run, not the best or the last', () => {
    const a = runs(run(300, 2), run(400, 2), run(500, 2));
    const v = verdict({ path: 'auto', A: a, B: runs(run(100, 2), run(390, 2), run(900, 2)) });
    expect(ratios(v.checks)).toEqual({ 'MB/s': 0.975, 'CPU-s/GiB': 1 });
    expect(v.ok).toBe(true);
  });

  it("counts the relay process's CPU on the relay path only", () => {
    const A = runs(run(300, 2, 0.5));
    const B = runs(run(300, 2, 0.6));
    const relay = verdict({ path: 'relay', A, B });
    expect(ratios(relay.checks)).toEqual({ 'MB/s': 1, 'CPU-s/GiB': 1, 'relay CPU-s/GiB': 1.2 });
    expect(relay.ok).toBe(false);
    const tcp = verdict({ path: 'tcp', A, B });
    expect(ratios(tcp.checks)).toEqual({ 'MB/s': 1, 'CPU-s/GiB': 1 });
    expect(tcp.ok).toBe(true);
  });

  it('fails a path where a run failed or a received file differed', () => {
    expect(
      verdict({ path: 'tcp', A: runs(run(400, 2)), B: { runs: [run(400, 2)], errors: ['transfer failed'] } }).ok,
    ).toBe(false);
    expect(verdict({ path: 'tcp', A: runs(run(400, 2)), B: runs(run(400, 2, 0.5, false)) }).ok).toBe(false);
    const none = verdict({ path: 'tcp', A: runs(run(400, 2)), B: { runs: [], errors: ['exited before code'] } });
    expect(ratios(none.checks)).toEqual({ 'MB/s': undefined, 'CPU-s/GiB': undefined });
    expect(none.ok).toBe(false);
  });

  it("says when a worse median lies within the overlap of A's and B's ranges", () => {
    const noisy = verdict({ path: 'tcp', A: runs(run(300, 2), run(500, 2)), B: runs(run(250, 2), run(450, 2)) });
    expect(noisy.checks[0]).toMatchObject({ what: 'MB/s', ok: false, overlap: true });
    const clear = verdict({ path: 'tcp', A: runs(run(400, 2), run(410, 2)), B: runs(run(300, 2), run(310, 2)) });
    expect(clear.checks[0]).toMatchObject({ what: 'MB/s', ok: false, overlap: false });
  });
});

describe('the printed comparison', () => {
  it('gives each build its median and range, and each path its B/A and verdict', () => {
    const lines = formatComparison({
      bytes: GiB,
      builds: { A: '8ecf126 (--ref 8ecf126)', B: 'abc1234 (this checkout)' },
      paths: [
        { path: 'relay', A: runs(run(300, 2, 0.5), run(320, 2, 0.5)), B: runs(run(310, 2, 0.5), run(330, 2, 0.5)) },
        { path: 'tcp', A: runs(run(400, 2), run(410, 2)), B: runs(run(300, 2), run(310, 2)) },
      ],
    });
    expect(lines.slice(0, 2)).toEqual(['A = 8ecf126 (--ref 8ecf126)', 'B = abc1234 (this checkout)']);
    expect(lines.find((l) => l.startsWith('relay  A'))).toMatch(
      /^relay  A +310\.0 \(300\.0–320\.0\) +4\.00 \(4\.00–4\.00\) +0\.50 \(0\.50–0\.50\) +100\/100\/100 +tcp$/,
    );
    expect(lines.slice(-2)).toEqual([
      '  yes  relay: MB/s 1.032×, CPU-s/GiB 1.000×, relay CPU-s/GiB 1.000×',
      '  NO   tcp: MB/s 0.753×, CPU-s/GiB 1.000×',
    ]);
  });
});
