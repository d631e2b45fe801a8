/**
 * The last step of a receive: moving the finished temporary file or folder to its final name, never clobbering
 * what appeared there since checkTarget unless --overwrite was given.
 */
import { link, lstat, open, rename, rm, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createError, type RandomBytes } from '@portunus/protocol';
import { errnoOf, fileError } from './fs-errors.js';
import { quoteForTerminal } from './sanitize.js';
import { tempSibling } from './temp-path.js';

/** link() failures meaning "this file system has no hard links", where a checked rename is the fallback. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV']);

function existsNow(path: string) {
  return createError('FILE_EXISTS', `${quoteForTerminal(path, 400)} appeared while receiving; the data was not kept`);
}

/** Whether nothing is at `path` (a broken symlink counts as something); other lstat failures are FILE_ERROR. */
export async function absent(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return false;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return true;
    throw fileError(err, 'use', path);
  }
}

/**
 * With `replace`, rename() swaps the file in atomically. Without, link() + unlink() fails atomically when the
 * name is taken (rename() would silently replace it).
 */
export async function placeFile(temp: string, path: string, replace: boolean): Promise<void> {
  try {
    if (replace) return await rename(temp, path);
    try {
      await link(temp, path);
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === 'EEXIST') throw existsNow(path);
      if (errno === undefined || !NO_HARD_LINKS.has(errno)) throw err;
      if (!(await absent(path))) throw existsNow(path);
      return await rename(temp, path);
    }
    await unlink(temp);
  } catch (err) {
    throw fileError(err, 'create', path);
  }
}

/**
 * A folder cannot be swapped atomically (no RENAME_EXCHANGE in Node): with `replace`, the old one is first renamed
 * aside, then removed once the new one is in place (and put back if that fails), so at no point is data lost.
 */
export async function placeFolder(
  temp: string,
  path: string,
  replace: boolean,
  random: RandomBytes,
  onWarning: (message: string) => void,
): Promise<void> {
  let aside: string | undefined;
  try {
    if (replace && !(await absent(path))) {
      aside = tempSibling(path, random, 'old');
      await rename(path, aside);
    } else if (!(await absent(path))) {
      throw existsNow(path);
    }
    await rename(temp, path);
  } catch (err) {
    if (aside !== undefined) await rename(aside, path).catch(() => {});
    throw fileError(err, 'create', path);
  }
  if (aside !== undefined) {
    await rm(aside, { recursive: true, force: true }).catch((err: unknown) => {
      onWarning(
        `could not remove the replaced folder, now at ${quoteForTerminal(aside, 400)}: ${String(errnoOf(err))}`,
      );
    });
  }
}

/** Makes the rename itself durable. Best effort: some platforms (Windows) cannot open a directory for fsync. */
export async function syncParent(path: string): Promise<void> {
  try {
    const handle = await open(dirname(path), 'r');
    await handle.sync().finally(() => handle.close());
  } catch {
    // Durability of the directory entry is a bonus; the data itself was already synced.
  }
}
