/**
 * Process helpers for benchmarks: spawn bin/portunus (this checkout's, or another build's), read its NDJSON events,
 * and take its CPU seconds and peak RSS from its own getrusage at exit (exit-usage.ts), sampling /proc while it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
export const BIN = join(ROOT, 'cli/bin/portunus');
const EXIT_USAGE = new URL('./exit-usage.js', import.meta.url).href;

export interface BenchProc {
  child: ChildProcess;
  events: Record<string, unknown>[];
  waitEvent(name: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** The first event (already seen or still to come) that `match` accepts. */
  waitFor(match: (event: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exit: Promise<number | null>;
  peakRssBytes(): number;
  /** User + system CPU seconds so far; after the exit, the process's own figure (else as last sampled, every 50 ms). */
  cpuSeconds(): number;
  stderr(): string;
}

/** utime + stime from /proc/<pid>/stat, in clock ticks (100 per second on Linux). */
function readCpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

function readHwm(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface SpawnOptions {
  cwd?: string;
  jsonOn?: 'stdout' | 'stderr';
  env?: NodeJS.ProcessEnv;
  /** The executable to run (default: this checkout's bin/portunus). */
  bin?: string;
}

const running = new Set<ChildProcess>();

/** SIGTERM to every process spawnPortunus started that still runs (a bench stopped by a signal leaves none behind). */
export function stopBenchProcesses(): void {
  for (const child of running) child.kill('SIGTERM');
}

export function spawnPortunus(args: string[], opts: SpawnOptions = {}): BenchProc {
  const child = spawn(process.execPath, ['--import', EXIT_USAGE, opts.bin ?? BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    ...(opts.env === undefined ? {} : { env: { ...process.env, ...opts.env } }),
  });
  running.add(child);
  child.on('exit', () => running.delete(child));
  const usage = readExitUsage(child);
  // A process killed by a signal has no exit code, only a signal code.
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  const events: Record<string, unknown>[] = [];
  let peak = 0;
  let cpuTicks = 0;
  let err = '';
  let buf = '';
  const listeners = new Set<() => void>();
  const jsonStream = opts.jsonOn === 'stderr' ? child.stderr! : child.stdout!;
  jsonStream.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('{')) events.push(JSON.parse(line) as Record<string, unknown>);
    }
    listeners.forEach((l) => l());
  });
  if (opts.jsonOn !== 'stderr') child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const sampler = setInterval(() => {
    const hwm = child.pid === undefined ? undefined : readHwm(child.pid);
    if (hwm !== undefined) peak = Math.max(peak, hwm);
    const ticks = child.pid === undefined ? undefined : readCpuTicks(child.pid);
    if (ticks !== undefined) cpuTicks = ticks;
  }, 50);
  // 'close', not 'exit': the usage line may still be in the pipe when the process has gone.
  const exit = new Promise<number | null>((res) =>
    child.on('close', (code) => {
      clearInterval(sampler);
      listeners.forEach((l) => l());
      res(code);
    }),
  );
  return {
    child,
    events,
    exit,
    peakRssBytes: () => Math.max(peak, usage.final?.peakRssBytes ?? 0),
    cpuSeconds: () => {
      if (usage.final !== undefined) return usage.final.cpuSeconds;
      const ticks = child.pid === undefined || ended() ? undefined : readCpuTicks(child.pid);
      if (ticks !== undefined) cpuTicks = ticks;
      return cpuTicks / 100;
    },
    stderr: () => err,
    waitEvent: (name, timeoutMs = 60_000) => waitFor((e) => e.event === name, timeoutMs, `'${name}'`),
    waitFor: (match, timeoutMs = 60_000) => waitFor(match, timeoutMs, 'a matching event'),
  };

  function waitFor(
    match: (e: Record<string, unknown>) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<Record<string, unknown>> {
    return new Promise((res, rej) => {
      const check = () => {
        const ev = events.find(match);
        if (ev) return finish(() => res(ev));
        if (ended())
          finish(() => rej(new Error(`exited (${child.exitCode ?? child.signalCode}) before ${what}: ${err}`)));
      };
      const timer = setTimeout(() => finish(() => rej(new Error(`timeout waiting for ${what}: ${err}`))), timeoutMs);
      const finish = (f: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        f();
      };
      listeners.add(check);
      check();
    });
  }
}

/** The line exit-usage.ts writes to fd 3 when the process exits (absent if it was killed). */
function readExitUsage(child: ChildProcess): { final?: { cpuSeconds: number; peakRssBytes: number } } {
  const usage: { final?: { cpuSeconds: number; peakRssBytes: number } } = {};
  let text = '';
  const pipe = child.stdio[3] as NodeJS.ReadableStream;
  pipe.on('data', (d: Buffer) => (text += d.toString('utf8')));
  pipe.on('end', () => {
    const line = parseJsonLine(text);
    if (typeof line?.cpuSeconds === 'number' && typeof line.peakRssBytes === 'number') {
      usage.final = { cpuSeconds: line.cpuSeconds, peakRssBytes: line.peakRssBytes };
    }
  });
  return usage;
}

function parseJsonLine(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export const mb = (bytes: number) => bytes / 1e6;
export const fmt = (n: number, digits = 1) => n.toFixed(digits);
