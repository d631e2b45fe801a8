/**
 * Another commit's build, for comparing against it in one run (compare.ts): `git worktree add --detach` into a new
 * directory under the system's temporary directory (outside this repository), then `npm ci` there (its own lockfile;
 * the prepare script builds dist/). `remove()` stops a build still running, deletes the directory and unregisters
 * the worktree.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Checkout {
  /** The commit the ref resolved to (abbreviated). */
  commit: string;
  dir: string;
  /** Runs `npm ci` in the worktree; resolves with the build's executable (from its package.json `bin`). */
  build(stop?: AbortSignal): Promise<string>;
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

export function addCheckout(repo: string, ref: string): Checkout {
  const commit = resolveCommit(repo, ref);
  const dir = mkdtempSync(join(tmpdir(), `portunus-ref-${commit}-`));
  let building: ChildProcess | undefined;
  let removed = false;
  // npm ci runs in its own process group (detached), so that ending the group ends the build's tsc too.
  const stopBuild = () => {
    if (building?.pid !== undefined && building.exitCode === null && building.signalCode === null)
      process.kill(-building.pid, 'SIGKILL');
  };
  const remove = () => {
    if (removed) return;
    removed = true;
    stopBuild();
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    try {
      git(repo, ['worktree', 'remove', '--force', dir]);
    } catch {
      // Never registered (`worktree add` failed).
    }
  };
  try {
    git(repo, ['worktree', 'add', '--detach', dir, commit]);
  } catch (err) {
    remove();
    throw err;
  }
  const build = async (stop?: AbortSignal) => {
    stop?.throwIfAborted();
    building = spawn('npm', ['ci', '--no-audit', '--no-fund'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    stop?.addEventListener('abort', stopBuild);
    try {
      await completion(building, `npm ci in ${dir}`);
    } catch (err) {
      stop?.throwIfAborted();
      throw err;
    } finally {
      stop?.removeEventListener('abort', stopBuild);
    }
    return join(dir, binPath(dir));
  };
  return { commit, dir, build, remove };
}

/** The build's `portunus`: the CLI workspace's bin (cli/), or, in builds before the workspaces, the root's. */
function binPath(dir: string): string {
  for (const at of ['cli', '.']) {
    const manifest = join(dir, at, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: string | Record<string, string> };
    const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.portunus;
    if (bin !== undefined) return join(at, bin);
  }
  return 'bin/portunus';
}

function git(repo: string, args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves when `child` exits with 0; its output is kept only to show it when it fails. */
function completion(child: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString('utf8')).slice(-4000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('error', reject);
    child.on('close', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${what} failed (${code ?? signal}):\n${output}`)),
    );
  });
}
