/**
 * Processes timed to their exit, for the start-up and small-files benches: wall measured here, user + system CPU by
 * GNU time (/usr/bin/time) when the machine has it, so the figure covers the whole process and nothing else.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './processes.js';

const GNU_TIME = '/usr/bin/time';

export interface Timing {
  /** Median wall milliseconds over the runs. */
  wallMs: number;
  /** Mean user + system CPU milliseconds per run (all processes of the row); NaN without GNU time. */
  cpuMs: number;
}

export interface Command {
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

/** One process to its exit; wall measured here, CPU by GNU time when there is one. */
export async function timeOne(cmd: Command, dir: string, n: number): Promise<{ wallMs: number; cpuMs: number }> {
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
export async function timeTogether(
  cmds: Command[],
  dir: string,
  n: number,
): Promise<{ wallMs: number; cpuMs: number }> {
  const started = performance.now();
  const each = await Promise.all(cmds.map((cmd, i) => timeOne(cmd, dir, n * 10 + i)));
  return { wallMs: performance.now() - started, cpuMs: each.reduce((sum, t) => sum + t.cpuMs, 0) };
}
