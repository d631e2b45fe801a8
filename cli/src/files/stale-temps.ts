/**
 * A receiver killed without a chance to clean up (kill -9, power loss) leaves its `.part` beside the target. The
 * next receive into the same folder removes such leftovers, and only those: names tempSibling makes, owned by this
 * user, made on this host (and pid namespace) by a process that is gone. A `.part` of a live process, of another
 * host or container sharing the folder, or of another user is left alone, and so is every `.old` (the user's
 * previous folder, mid-replacement). If the owner's pid was reused by another process meanwhile, the leftover
 * stays until that process is gone too. A `.part` beside its `.resume` state is kept too: a later receive of the same
 * file resumes it (resume-state.ts) — for RESUME_KEEP_MS after its state was last written; past that it goes like any
 * other leftover, so what an abandoned transfer keeps on disk has an end. A `.resume` whose `.part` is gone is
 * removed, silently (it holds no data).
 */
import type { Dirent } from 'node:fs';
import { lstat, opendir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes } from '../ui/format.js';
import { errnoOf, fileError } from './fs-errors.js';
import { quoteForTerminal } from './sanitize.js';
import { currentOwner, partOwner, stateOf, stateOwner, type TempOwner } from './temp-path.js';

/** How long a resumable partial waits for the receive that would resume it: 7 days, as a browser keeps a download. */
export const RESUME_KEEP_MS = 7 * 24 * 60 * 60 * 1000;

export interface SweptTemp {
  path: string;
  kind: 'file' | 'folder';
  /** Size of a file (a folder's content is not counted). */
  bytes?: number;
  /** The process that made it, now gone. */
  pid: number;
  /** It was kept for resuming, but no receive resumed it within RESUME_KEEP_MS. */
  expired?: boolean;
}

/** The line shown for a removed leftover. */
export function describeSwept(swept: SweptTemp): string {
  const size = swept.bytes === undefined ? '' : ` (${formatBytes(swept.bytes)})`;
  const what = swept.kind === 'file' ? 'partial file' : 'partial folder';
  const owner = swept.expired
    ? `kept for resuming, unused for ${RESUME_KEEP_MS / 86_400_000} days`
    : `process ${swept.pid}, no longer running`;
  return `Removed the ${what} ${quoteForTerminal(swept.path, 400)}${size} left by an earlier receive (${owner}).`;
}

/** A temporary made on this host (and pid namespace) by another process that is gone. */
export function ownerGone(made: TempOwner, owner: TempOwner = currentOwner()): boolean {
  return made.host === owner.host && made.pid !== owner.pid && !processRunning(made.pid);
}

/** Signal 0 checks without signalling: only "no such process" (ESRCH) means gone; EPERM is someone else's, alive. */
function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) !== 'ESRCH';
  }
}

/** Removes stale `.part` leftovers directly in `folder`; returns what was removed. Never throws. */
export async function sweepStaleTemps(
  folder: string,
  onWarning?: (message: string) => void,
  now = Date.now(),
): Promise<SweptTemp[]> {
  const owner = currentOwner();
  const swept: SweptTemp[] = [];
  try {
    // opendir streams the entries, so a huge folder costs no memory.
    for await (const entry of await opendir(folder)) {
      const orphan = stateOwner(entry.name);
      if (orphan !== undefined && ownerGone(orphan, owner)) await removeOrphanState(join(folder, entry.name));
      const made = partOwner(entry.name);
      if (made === undefined || !ownerGone(made, owner)) continue;
      const state = stateOf(join(folder, entry.name));
      const kept = await lstat(state).catch(() => undefined);
      const expired = kept !== undefined && now - kept.mtimeMs > RESUME_KEEP_MS;
      if (kept !== undefined && !expired) continue;
      const removed = await removeStale(join(folder, entry.name), entry, made.pid, onWarning);
      if (removed === undefined) continue;
      if (expired) await unlink(state).catch(() => undefined);
      swept.push(expired ? { ...removed, expired } : removed);
    }
  } catch {
    // An unreadable folder is the receive's problem to report (checkOutput, checkTarget), not the sweep's.
  }
  return swept;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** A state without its `.part` (the part was removed or resumed elsewhere): nothing can use it. */
async function removeOrphanState(state: string): Promise<void> {
  const part = state.replace(/\.resume$/, '.part');
  if (await exists(part)) return;
  const st = await lstat(state).catch(() => undefined);
  if (st === undefined || !st.isFile() || (process.getuid !== undefined && st.uid !== process.getuid())) return;
  await unlink(state).catch(() => undefined);
}

async function removeStale(
  path: string,
  entry: Dirent,
  pid: number,
  onWarning: ((message: string) => void) | undefined,
): Promise<SweptTemp | undefined> {
  if (!entry.isFile() && !entry.isDirectory()) return undefined;
  try {
    const st = await lstat(path);
    if (process.getuid !== undefined && st.uid !== process.getuid()) return undefined;
    const kind = st.isDirectory() ? 'folder' : 'file';
    await rm(path, { recursive: kind === 'folder' });
    return { path, kind, pid, ...(kind === 'file' ? { bytes: st.size } : {}) };
  } catch (err) {
    // Another receive sweeping the same folder got there first.
    if (errnoOf(err) !== 'ENOENT') onWarning?.(fileError(err, 'remove the leftover', path).message);
    return undefined;
  }
}
