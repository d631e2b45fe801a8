/**
 * Runs bin/portunus on a pseudo-terminal through script(1) (util-linux/bsdutils), so prompts can be answered as a
 * person would. Tests that need it skip, with the reason printed, when script is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { BIN } from './harness.js';

export const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface PtyProc {
  output: () => string;
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>;
  type: (text: string) => void;
  exit: Promise<number | null>;
}

export function runInPty(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): PtyProc {
  const cmd = [process.execPath, BIN, ...args].map(quote).join(' ');
  // -q quiet, -e return the child's exit code, -f flush output at once, -c command; the log goes nowhere.
  const child = spawn('script', ['-qefc', cmd, '/dev/null'], {
    cwd: opts.cwd,
    env: { ...(opts.env ?? process.env), TERM: 'dumb' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString('utf8');
    listeners.forEach((l) => l());
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return {
    output: () => out,
    type: (text) => child.stdin.write(text),
    exit,
    waitFor: (pattern, timeoutMs = 20_000) =>
      new Promise((res, rej) => {
        const check = () => {
          if (pattern.test(out)) finish(res);
        };
        const timer = setTimeout(() => finish(() => rej(new Error(`no ${pattern} in: ${out}`))), timeoutMs);
        const finish = (f: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        listeners.add(check);
        check();
      }),
  };
}
