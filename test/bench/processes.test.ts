/**
 * What the benchmarks read from each process they start (bench/processes.ts), through the compiled bench as
 * `npm run bench` runs it: the executable given (another build's, for bench:compare), and CPU and peak RSS exact
 * at exit, since bench:compare judges a 5% difference in CPU-s by them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe("a benchmarked process's CPU and peak RSS", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portunus-bench-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("come from the process's own figures at exit, including its last moments, for the executable given", async () => {
    // A stand-in build that spins until it has used 0.5 CPU-s in all, then exits: the sampler, looking at its /proc
    // entry every 50 ms, misses the last moments, so only the process's own account at exit reaches 0.5.
    const bin = join(dir, 'fake-portunus.mjs');
    await writeFile(
      bin,
      `console.log(JSON.stringify({ event: 'args', args: process.argv.slice(2) }));
       globalThis.kept = Buffer.alloc(96 * 1024 * 1024, 1);
       for (let u = process.cpuUsage(); u.user + u.system < 500_000; u = process.cpuUsage());\n`,
    );
    const compiled = pathToFileURL(resolve(__dirname, '../../dist/bench/processes.js')).href;
    const { spawnPortunus } = (await import(compiled)) as typeof import('../../bench/processes.js');
    const proc = spawnPortunus(['send', '--json'], { bin, cwd: dir });
    expect(await proc.exit).toBe(0);
    expect(proc.events).toEqual([{ event: 'args', args: ['send', '--json'] }]);
    expect(proc.cpuSeconds()).toBeGreaterThanOrEqual(0.5);
    expect(proc.peakRssBytes()).toBeGreaterThanOrEqual(96 * 1024 * 1024);
  });

  it("is the process's own peak, not its parent's: fork copied the parent, and ru_maxrss kept that copy's", async () => {
    const bin = join(dir, 'small-portunus.mjs');
    await writeFile(bin, `console.log(JSON.stringify({ event: 'done' }));\n`);
    // This process holds 320 MB (touched) when it starts the child; the child itself needs ~40 MB.
    const held = Buffer.alloc(320 * 1024 * 1024, 1);
    const compiled = pathToFileURL(resolve(__dirname, '../../dist/bench/processes.js')).href;
    const { spawnPortunus } = (await import(compiled)) as typeof import('../../bench/processes.js');
    const proc = spawnPortunus([], { bin, cwd: dir });
    expect(await proc.exit).toBe(0);
    expect(held.length).toBe(320 * 1024 * 1024);
    expect(proc.peakRssBytes()).toBeGreaterThan(0);
    expect(proc.peakRssBytes()).toBeLessThan(160 * 1024 * 1024);
  });
});
