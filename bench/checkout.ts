/**
 * Another commit's build, for comparing against it in one run (compare.ts): `git worktree add --detach` into a new
 * directory under the system's temporary directory (outside this repository), `npm ci` there (its own lockfile;
 * the prepare script builds dist/), then its bin/portunus. `remove()` unregisters the worktree and deletes its
 * directory; SIGINT/SIGTERM run it too, since a leftover worktree would stay registered in the shared .git.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Checkout {
  /** The commit the ref resolved to (abbreviated). */
  commit: string;
  dir: string;
  /** Its executable, from its package.json `bin`. */
  bin: string;
  remove(): void;
}

/** Resolves `ref` in `repo` to an abbreviated commit; throws on an unknown ref. */
export function resolveCommit(repo: string, ref: string): string {
  try {
    return git(repo, ['rev-parse', '--short', '--verify', '--end-of-options', `${ref}^{commit}`]).trim();
  } catch {
    throw new Error(`--ref: '${ref}' names no commit in ${repo}`);
  }
}

/** The abbreviated HEAD of `repo`, with `+` when its tracked files differ from it. */
export function describeHead(repo: string): string {
  const dirty = git(repo, ['status', '--porcelain', '--untracked-files=no']).trim() !== '';
  return `${git(repo, ['rev-parse', '--short', 'HEAD']).trim()}${dirty ? '+' : ''}`;
}

export async function checkoutAndBuild(repo: string, ref: string, log: (line: string) => void): Promise<Checkout> {
  const commit = resolveCommit(repo, ref);
  const dir = mkdtempSync(join(tmpdir(), `portunus-ref-${commit}-`));
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    try {
      git(repo, ['worktree', 'remove', '--force', dir]);
    } catch {
      // Never registered (`worktree add` failed): the directory below is all there is.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    remove();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    git(repo, ['worktree', 'add', '--detach', dir, commit]);
    log(`building ${commit} in ${dir}: npm ci …`);
    const started = performance.now();
    await run('npm', ['ci', '--no-audit', '--no-fund'], dir);
    log(`built ${commit} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return { commit, dir, bin: join(dir, binPath(dir)), remove };
  } catch (err) {
    remove();
    throw err;
  }
}

function binPath(dir: string): string {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { bin?: string | Record<string, string> };
  return (typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.portunus) ?? 'bin/portunus';
}

function git(repo: string, args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command to completion, keeping its output only to show it when it fails. */
function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString('utf8')).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}) in ${cwd}:\n${output}`))));
  });
}
