/**
 * Several paths in one send (`portunus send a.txt photos/`): one tar whose top-level entries are the arguments, in
 * the order given (PROTOCOL.md §4.5). A folder argument contributes planFolder's entries, a file argument one file
 * entry under its own name. The entry cap holds for the whole bundle.
 */
import { realpath, stat } from 'node:fs/promises';
import { createError, MAX_BUNDLE_ENTRIES, type BundleEntry } from '@portunus/protocol';
import { fileError } from './fs-errors.js';
import { planFolder, tarSeconds, type FolderPlan, type PlanOptions } from './folder-plan.js';
import { quoteForTerminal } from './sanitize.js';
import { TAR_END_SIZE, tarEntrySize } from './tar-size.js';

/** One argument: its path as given and the name it is offered under (its last component). */
export interface BundlePath {
  path: string;
  name: string;
}

export async function planBundle(
  paths: readonly BundlePath[],
  opts: PlanOptions,
): Promise<{ plan: FolderPlan; entries: BundleEntry[] }> {
  if (paths.length > MAX_BUNDLE_ENTRIES) {
    throw createError('USAGE', `at most ${MAX_BUNDLE_ENTRIES} paths can be sent at once (got ${paths.length})`, {
      hint: 'Put them in a folder and send the folder.',
    });
  }
  const plan: FolderPlan = { entries: [], files: 0, bytes: 0, size: TAR_END_SIZE };
  const entries: BundleEntry[] = [];
  for (const { path, name } of paths) {
    // The user named this path: a link is followed to what it names.
    let real: string;
    try {
      real = await realpath(path);
    } catch (err) {
      throw fileError(err, 'read', path);
    }
    const st = await stat(real, { bigint: true }).catch((err: unknown) => Promise.reject(fileError(err, 'read', path)));
    const room = opts.maxEntries - plan.entries.length;
    if (st.isDirectory()) {
      const folder = await planFolder(real, name, { ...opts, maxEntries: room });
      plan.entries.push(...folder.entries);
      plan.files += folder.files;
      plan.bytes += folder.bytes;
      plan.size += folder.size - TAR_END_SIZE;
      entries.push({ name, type: 'folder' });
    } else if (st.isFile()) {
      if (room < 1) throw createError('FILE_ERROR', `more than ${opts.maxEntries} entries in all`);
      const size = Number(st.size);
      const mtime = tarSeconds(st.mtimeNs);
      const executable = (Number(st.mode) & 0o111) !== 0;
      plan.entries.push({ type: 'file', name, mtime, path: real, size, mtimeNs: st.mtimeNs, executable });
      plan.files += 1;
      plan.bytes += size;
      plan.size += tarEntrySize(name, size);
      entries.push({ name, type: 'file' });
    } else {
      throw createError('FILE_ERROR', `${quoteForTerminal(path)} is not a regular file or folder`, {
        hint: 'To send a pipe or device, feed it to standard input: portunus send - < path',
      });
    }
  }
  return { plan, entries };
}
