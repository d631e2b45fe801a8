/**
 * Walks a folder once, before anything is sent, and lists the tar entries that will be streamed: their order,
 * names and exact sizes (so the offer can state the tar's byte length) and any readability problem (so it is
 * reported before the relay is contacted). Only names (not contents) are kept in memory, bounded by maxEntries.
 */
import type { BigIntStats, Dirent } from 'node:fs';
import { access, constants, lstat, readdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { createError, fromUtf8 } from '@portunus/protocol';
import { fileError } from './fs-errors.js';
import { inOrder } from './in-order.js';
import { MAX_PATH_BYTES } from './entry-check.js';
import { componentNameProblem, quoteForTerminal } from './sanitize.js';
import { TAR_END_SIZE, tarEntrySize } from './tar-size.js';

/** `mtime` in whole seconds, as tar carries it (receivers do not restore it; it is there for `-o -` users). */
export type FolderEntry =
  | { type: 'directory'; name: string; mtime: number }
  | { type: 'file'; name: string; mtime: number; path: string; size: number; mtimeNs: bigint; executable: boolean }
  | { type: 'symlink'; name: string; mtime: number; linkname: string };

/** Children stat'ed at once while a folder is listed: enough to keep libuv's four threads busy. */
const STAT_WINDOW = 16;

export interface FolderPlan {
  entries: FolderEntry[];
  /** Regular files, and the sum of their sizes. */
  files: number;
  bytes: number;
  /** Exact byte length of the tar stream. */
  size: number;
}

export interface PlanOptions {
  maxEntries: number;
  onWarning: (message: string) => void;
}

interface Walk {
  rootName: string;
  realRoot: string;
  opts: PlanOptions;
  plan: FolderPlan;
  /** Directories still to list: a stack, children pushed in reverse so they come off in sorted order. */
  pending: Pending[];
}

interface Pending {
  abs: string;
  rel: string;
  mtime: number;
}

/** tar-stream stores `(ms / 1000) | 0`, a signed 32-bit value: clamp so 2038+ or pre-1970 times stay valid. */
export function tarSeconds(mtimeNs: bigint): number {
  const seconds = Number(mtimeNs / 1_000_000_000n);
  return Math.min(Math.max(seconds, 0), 2 ** 31 - 1);
}

/**
 * Deterministic order: a directory, then its non-directory children sorted by the bytes of their names, then its
 * subdirectories the same way, depth first. Entry names are `<rootName>/<relative path>` with '/' separators,
 * directories ending in '/'.
 */
export async function planFolder(realRoot: string, rootName: string, opts: PlanOptions): Promise<FolderPlan> {
  const walk: Walk = {
    rootName,
    realRoot,
    opts,
    plan: { entries: [], files: 0, bytes: 0, size: TAR_END_SIZE },
    pending: [],
  };
  walk.pending.push({ abs: realRoot, rel: '', mtime: tarSeconds((await statOrThrow(realRoot)).mtimeNs) });
  for (let dir = walk.pending.pop(); dir !== undefined; dir = walk.pending.pop()) {
    add(walk, { type: 'directory', name: `${rootName}/${dir.rel === '' ? '' : dir.rel + '/'}`, mtime: dir.mtime }, 0);
    await listDirectory(walk, dir.abs, dir.rel);
  }
  return walk.plan;
}

function add(walk: Walk, entry: FolderEntry, size: number): void {
  const { plan, opts } = walk;
  if (plan.entries.length >= opts.maxEntries) {
    throw createError('FILE_ERROR', `the folder has more than ${opts.maxEntries} entries`, {
      hint: 'Receivers refuse folders this large; send an archive of it instead (tar c folder | portunus send -).',
    });
  }
  plan.entries.push(entry);
  plan.size += tarEntrySize(entry.name, size, entry.type === 'symlink' ? entry.linkname : undefined);
}

async function listDirectory(walk: Walk, abs: string, rel: string): Promise<void> {
  let dirents: Dirent<Buffer>[];
  try {
    dirents = await readdir(abs, { withFileTypes: true, encoding: 'buffer' });
  } catch (err) {
    throw fileError(err, 'read the folder', abs);
  }
  dirents.sort((a, b) => Buffer.compare(a.name, b.name));
  const children: { abs: string; rel: string }[] = [];
  for (const dirent of dirents) {
    const name = checkedName(walk, dirent.name, abs);
    if (name === undefined) continue;
    const child = { abs: join(abs, name), rel: rel === '' ? name : `${rel}/${name}` };
    if (Buffer.byteLength(`${walk.rootName}/${child.rel}/`, 'utf8') > MAX_PATH_BYTES) {
      walk.opts.onWarning(`skipping ${quoteForTerminal(child.abs)}: its path is longer than ${MAX_PATH_BYTES} bytes`);
      continue;
    }
    children.push(child);
  }
  const subdirs: Pending[] = [];
  // The children's stat calls run a few at once (in-order.ts); each is then taken in the sorted order.
  for await (const [child, st] of inOrder(children, STAT_WINDOW, probeChild)) {
    const subdir = await addChild(walk, child, abs, st);
    if (subdir !== undefined) subdirs.push(subdir);
  }
  for (let i = subdirs.length - 1; i >= 0; i--) walk.pending.push(subdirs[i]!);
}

/** Names that are not UTF-8 or that receivers would refuse are skipped with a warning, not sent renamed. */
function checkedName(walk: Walk, raw: Buffer, dir: string): string | undefined {
  const name = fromUtf8(raw);
  if (name === undefined) {
    walk.opts.onWarning(`skipping a name in ${quoteForTerminal(dir)} that is not valid UTF-8`);
    return undefined;
  }
  const problem = componentNameProblem(name);
  if (problem !== undefined) {
    walk.opts.onWarning(`skipping ${quoteForTerminal(join(dir, name))}: receivers refuse this name (${problem})`);
    return undefined;
  }
  return name;
}

async function statOrThrow(path: string): Promise<BigIntStats> {
  try {
    return await lstat(path, { bigint: true });
  } catch (err) {
    throw fileError(err, 'read', path);
  }
}

/** A child's lstat, and for a regular file whether we may read it (so a file we cannot read fails the plan). */
async function probeChild(child: { abs: string; rel: string }): Promise<[{ abs: string; rel: string }, BigIntStats]> {
  const st = await statOrThrow(child.abs);
  if (st.isFile()) {
    try {
      await access(child.abs, constants.R_OK);
    } catch (err) {
      throw fileError(err, 'read', child.abs);
    }
  }
  return [child, st];
}

/** Adds a non-directory entry; returns a directory, which the caller descends into later. */
async function addChild(
  walk: Walk,
  child: { abs: string; rel: string },
  dirAbs: string,
  st: BigIntStats,
): Promise<Pending | undefined> {
  const name = `${walk.rootName}/${child.rel}`;
  const mtime = tarSeconds(st.mtimeNs);
  if (st.isDirectory()) return { ...child, mtime };
  if (st.isFile()) {
    const size = Number(st.size);
    const executable = (Number(st.mode) & 0o111) !== 0;
    add(walk, { type: 'file', name, mtime, path: child.abs, size, mtimeNs: st.mtimeNs, executable }, size);
    walk.plan.files += 1;
    walk.plan.bytes += size;
  } else if (st.isSymbolicLink()) {
    const linkname = await insideLinkTarget(walk, child.abs, dirAbs);
    if (linkname !== undefined) add(walk, { type: 'symlink', name, mtime, linkname }, 0);
  } else {
    walk.opts.onWarning(`skipping ${quoteForTerminal(child.abs)}: not a regular file, folder or symbolic link`);
  }
  return undefined;
}

/**
 * A symlink is sent only when what it finally resolves to lies inside the folder, as the normalized relative
 * path from the link's (real) directory: only leading '..' components, which is the one form receivers accept.
 */
async function insideLinkTarget(walk: Walk, linkAbs: string, dirAbs: string): Promise<string | undefined> {
  const skip = (why: string): undefined => {
    walk.opts.onWarning(`skipping the symbolic link ${quoteForTerminal(linkAbs)}: ${why}`);
    return undefined;
  };
  let resolved: string;
  try {
    resolved = await realpath(linkAbs);
  } catch {
    return skip('its target does not exist');
  }
  const fromRoot = relative(walk.realRoot, resolved);
  if (fromRoot === '..' || fromRoot.startsWith('..' + sep) || isAbsolute(fromRoot)) {
    return skip('it points outside the folder');
  }
  const linkname = relative(dirAbs, resolved).split(sep).join('/') || '.';
  for (const part of linkname.split('/')) {
    const problem = part === '..' || part === '.' ? undefined : componentNameProblem(part);
    if (problem !== undefined) return skip(`its target has a name receivers refuse (${problem})`);
  }
  if (Buffer.byteLength(linkname, 'utf8') > MAX_PATH_BYTES) return skip('its target path is too long');
  return linkname;
}
