/**
 * Saving through the File System Access API: the user picks where, and the bytes stream to disk. Chromium writes
 * into a swap file beside the target and moves it into place only on close(), so abort() discards what was written
 * and leaves an existing file as it was (WICG File System Access, FileSystemWritableFileStream); only the empty
 * file the save dialog itself created for a new name stays, since nothing tells a new name from an emptied one.
 * The same writable serves a handle from the origin private file system (navigator.storage.getDirectory()),
 * which the tests use.
 */
import { createError, PortunusError } from '@portunus/protocol';
import type { Sink } from '@portunus/client';
import type { Saver } from './saver.js';

/** `window.showSaveFilePicker`, which TypeScript's DOM library does not declare yet. */
type SavePicker = (options: { suggestedName: string }) => Promise<FileSystemFileHandle>;

export type PickFile = (name: string) => Promise<FileSystemFileHandle>;

/** The save dialog, where the browser has one. */
export function savePicker(scope: object = globalThis): PickFile | undefined {
  const picker = (scope as { showSaveFilePicker?: SavePicker }).showSaveFilePicker;
  return typeof picker === 'function' ? (name) => picker.call(scope, { suggestedName: name }) : undefined;
}

function fileError(err: unknown, what: string): PortunusError {
  if (err instanceof PortunusError) return err;
  if (err instanceof DOMException && err.name === 'AbortError') {
    return createError('CANCELLED', 'you closed the save dialog', { hint: 'Accept again to choose where to save.' });
  }
  const why = err instanceof Error ? err.message : String(err);
  return createError('FILE_ERROR', `cannot ${what} the file: ${why}`, { cause: err });
}

export class FileSystemSaver implements Saver {
  readonly kind = 'file-system';

  constructor(private readonly pick: PickFile) {}

  async open(name: string): Promise<Sink> {
    let handle: FileSystemFileHandle;
    let writable: FileSystemWritableFileStream;
    try {
      handle = await this.pick(name);
      writable = await handle.createWritable();
    } catch (err) {
      throw fileError(err, 'create');
    }
    let closed = false;
    return {
      write: async (chunk) => {
        try {
          await writable.write(chunk as Uint8Array<ArrayBuffer>);
        } catch (err) {
          throw fileError(err, 'write');
        }
      },
      commit: async () => {
        try {
          closed = true;
          await writable.close();
        } catch (err) {
          throw fileError(err, 'save');
        }
        return handle.name;
      },
      abort: async () => {
        if (closed) return;
        closed = true;
        await writable.abort().catch(() => {});
      },
    };
  }
}
