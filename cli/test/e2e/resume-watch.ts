/**
 * Waiting on a receiver's resume state (PROTOCOL.md §4.12) without the clock: its folder's change events wake the
 * check. A file's state is one JSON line; a folder's is that line followed by its journal.
 */
import { watch } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Proc } from './harness.js';

/** The bytes the receiver's resume state in `dst` records, or -1 without one. */
export async function recorded(dst: string): Promise<number> {
  for (const name of await readdir(dst)) {
    if (!name.endsWith('.resume')) continue;
    try {
      const text = await readFile(join(dst, name), 'utf8');
      return (JSON.parse(text.split('\n', 1)[0]!) as { bytes: number }).bytes;
    } catch {
      return -1; // being created
    }
  }
  return -1;
}

/** Resolves once the receiver's state records at least `bytes`: woken by the folder's change events. */
export async function stateReaches(dst: string, bytes: number, receiver: Proc): Promise<void> {
  const watcher = watch(dst);
  try {
    await new Promise<void>((resolve, reject) => {
      const check = () => void recorded(dst).then((n) => n >= bytes && resolve(), reject);
      watcher.on('change', check);
      void receiver.exited.then(() => reject(new Error(`the receiver exited first: ${receiver.stdout()}`)));
      check();
    });
  } finally {
    watcher.close();
  }
}
