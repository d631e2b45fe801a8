/**
 * Runs a shell script the way a person or a CI job would: `sh -c`, with `portunus` on PATH (a link to this
 * checkout's bin/portunus) and none of the developer's PORTUNUS_* variables. For commands the README or the CLI
 * print: the test runs them as printed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './harness.js';

export interface ShellProc {
  stdout: () => string;
  stderr: () => string;
  /** Resolves once `pattern` matches the stream's text so far; rejects on exit without it, or after `timeoutMs`. */
  waitFor: (stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>;
  exit: Promise<number | null>;
}

/** A folder holding `portunus` (a link to bin/portunus), to put first on PATH. */
export async function portunusBinDir(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'portunus-bin-'));
  await symlink(BIN, join(path, 'portunus'));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export function runShell(
  script: string,
  opts: { binDir: string; cwd: string; env?: Record<string, string> },
): ShellProc {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PORTUNUS_')) env[k] = v;
  Object.assign(env, opts.env, { PATH: `${opts.binDir}:${process.env.PATH ?? ''}` });
  const child = spawn('sh', ['-c', script], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const text = { stdout: '', stderr: '' };
  const listeners = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => ((text.stdout += d.toString('utf8')), listeners.forEach((l) => l())));
  child.stderr.on('data', (d: Buffer) => ((text.stderr += d.toString('utf8')), listeners.forEach((l) => l())));
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      exited = true;
      resolve(code);
      listeners.forEach((l) => l());
    }),
  );
  return {
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    exit,
    waitFor: (stream, pattern, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(text[stream]);
          if (m) return finish(() => resolve(m));
          if (exited)
            finish(() => reject(new Error(`exited without ${pattern}; stdout=${text.stdout} stderr=${text.stderr}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; stderr=${text.stderr}`))),
          timeoutMs,
        );
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
