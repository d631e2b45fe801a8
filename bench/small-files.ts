/**
 * Many small files (issue #18): one folder of 10,000 files of 1 to 8 KiB and one 100 MB file, sent by `portunus send`
 * and received by `portunus receive --yes` through a relay on loopback (the path `auto` picks), by this checkout (B)
 * and by another build (A: `--ref <git-ref>`, built in a temporary worktree as bench:compare does), alternating
 * A B A B … Prints each run's wall time (the sender's start to both exits) and CPU seconds per process, then B's
 * speed-up over A (target: at least 1.5× in wall time). As a reference, the same folder through `tar c | tar x`
 * on this machine (no network, no encryption, no hashing): the floor for what any tool pays per file here.
 *   npm run build && node dist/bench/small-files.js --ref 8ecf126 [--runs N] [--files N] [--big SIZE]
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { addCheckout } from './checkout.js';
import { parseSize } from './compare.js';
import { startedAs } from './entry.js';
import { makeRandomFile } from './payload.js';
import { BIN, fmt, ROOT, spawnPortunus } from './processes.js';

export interface SmallFilesRun {
  wallSeconds: number;
  cpuSeconds: { sender: number; receiver: number; relay: number };
  transport: string;
}

/** 1 to 8 KiB each, from a fixed seed (the same folder every time). */
export async function makeSmallFilesFolder(dir: string, files: number, bigBytes: number): Promise<number> {
  await mkdir(dir, { recursive: true });
  let seed = 0x2545f491;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  let total = 0;
  for (let i = 0; i < files; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, files - i) }, (_, j) => {
        const size = 1024 + (next() % (7 * 1024 + 1));
        total += size;
        const data = Buffer.alloc(size, next() & 255);
        return writeFile(join(dir, `f${String(i + j).padStart(5, '0')}.dat`), data);
      }),
    );
  }
  if (bigBytes > 0) await makeRandomFile(join(dir, 'big.bin'), bigBytes);
  return total + bigBytes;
}

/**
 * `out` must be a new folder. Outputs are removed only after the last run: ext4 does not reuse an inode freed in the
 * last minute (five, while its table block is dirty), and scans past each one when it creates a file, so creating
 * 10,000 files right after deleting 10,000 cost several seconds more of kernel time, more with every run.
 */
export async function runSmallFilesOnce(bin: string, folder: string, out: string): Promise<SmallFilesRun> {
  await mkdir(out);
  const relay = spawnPortunus(['relay', '--host', '127.0.0.1', '--port', '0', '--json'], { bin });
  try {
    const url = String((await relay.waitEvent('listening')).url);
    const started = performance.now();
    const sender = spawnPortunus(['send', '--json', '--relay', url, folder], { bin });
    const code = String((await sender.waitEvent('code')).code);
    const receiver = spawnPortunus(['receive', '--json', '--relay', url, '--yes', '-o', out, code], { bin });
    const [sc, rc] = await Promise.all([sender.exit, receiver.exit]);
    const wallSeconds = (performance.now() - started) / 1000;
    if (sc !== 0 || rc !== 0) throw new Error(`sender ${sc} receiver ${rc}: ${receiver.stderr().slice(0, 300)}`);
    const done = receiver.events.find((e) => e.event === 'done');
    return {
      wallSeconds,
      cpuSeconds: { sender: sender.cpuSeconds(), receiver: receiver.cpuSeconds(), relay: relay.cpuSeconds() },
      transport: String(done?.transport ?? 'none'),
    };
  } finally {
    relay.child.kill('SIGTERM');
    await relay.exit;
  }
}

/** `tar c -C parent name | tar x -C out`: the bare cost of reading and creating the same files here. */
export async function runTarPipe(parent: string, name: string, out: string): Promise<number> {
  await mkdir(out);
  const started = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn('sh', ['-c', 'tar c -C "$1" "$2" | tar x -C "$3"', 'sh', parent, name, out], {
      stdio: 'ignore',
    });
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`tar pipe exited ${code}`);
  return (performance.now() - started) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function describeRun(label: string, i: number, r: SmallFilesRun): string {
  const c = r.cpuSeconds;
  return `${label} run ${i + 1}: ${fmt(r.wallSeconds, 2)} s wall, CPU s ${fmt(c.sender, 2)}/${fmt(c.receiver, 2)}/${fmt(c.relay, 2)} (sender/receiver/relay), via ${r.transport}`;
}

export function formatSmallFiles(a: SmallFilesRun[], b: SmallFilesRun[], tarSeconds: number[]): string[] {
  const wall = (runs: SmallFilesRun[]) => median(runs.map((r) => r.wallSeconds));
  const cpu = (runs: SmallFilesRun[]) => median(runs.map((r) => r.cpuSeconds.sender + r.cpuSeconds.receiver));
  const speedup = wall(a) / wall(b);
  return [
    `A (--ref): ${fmt(wall(a), 2)} s wall, ${fmt(cpu(a), 2)} CPU-s sender + receiver (medians of ${a.length})`,
    `B (this):  ${fmt(wall(b), 2)} s wall, ${fmt(cpu(b), 2)} CPU-s sender + receiver (medians of ${b.length})`,
    `reference: tar c | tar x of the same folder, ${fmt(median(tarSeconds), 2)} s wall (B is ${fmt(wall(b) / median(tarSeconds), 1)}× that)`,
    `B is ${fmt(speedup, 2)}× faster than A in wall time, ${fmt(cpu(a) / cpu(b), 2)}× in CPU; target ≥ 1.5×: ${speedup >= 1.5 ? 'met' : 'NOT met'}`,
  ];
}

if (startedAs('small-files.js')) {
  const { values } = parseArgs({
    options: {
      ref: { type: 'string' },
      'ref-bin': { type: 'string' },
      runs: { type: 'string', default: '3' },
      files: { type: 'string', default: '10000' },
      big: { type: 'string', default: '100MB' },
    },
  });
  const main = async () => {
    if (values.ref === undefined && values['ref-bin'] === undefined)
      throw new Error('usage: node dist/bench/small-files.js --ref <git-ref> [--runs N] [--files N] [--big SIZE]');
    const dir = await mkdtemp(join(tmpdir(), 'portunus-bench-small-'));
    const ref = values.ref === undefined ? undefined : addCheckout(ROOT, values.ref);
    try {
      console.log(`portunus bench: many small files — Node ${process.version}, ${new Date().toISOString()}`);
      const binA = values['ref-bin'] ?? (await ref!.build());
      const files = Number(values.files);
      const bytes = await makeSmallFilesFolder(join(dir, 'small'), files, parseSize(values.big));
      console.log(`${files} files of 1-8 KiB and one of ${values.big}: ${fmt(bytes / 1e6, 0)} MB; A = ${binA}`);
      const runs: Record<'A' | 'B', SmallFilesRun[]> = { A: [], B: [] };
      const tar: number[] = [];
      for (let i = 0; i < Number(values.runs); i++) {
        for (const [label, bin] of [
          ['A', binA],
          ['B', BIN],
        ] as const) {
          const r = await runSmallFilesOnce(bin, join(dir, 'small'), join(dir, `out-${label}-${i}`));
          runs[label].push(r);
          console.log(describeRun(label, i, r));
        }
        tar.push(await runTarPipe(dir, 'small', join(dir, `out-tar-${i}`)));
      }
      for (const line of formatSmallFiles(runs.A, runs.B, tar)) console.log(line);
    } finally {
      ref?.remove();
      await rm(dir, { recursive: true, force: true });
    }
  };
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
