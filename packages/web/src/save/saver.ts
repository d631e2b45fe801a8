/**
 * Where received bytes go in the page: one interface over the File System Access API, a download streamed through
 * the service worker, and memory. Each `open` returns the client core's Sink, so the session writes to any of
 * them as the CLI writes to a file: write() resolves once the chunk is written or handed on (never an unbounded
 * queue), commit() finishes, abort() leaves nothing behind where the platform allows it.
 */
import type { Sink } from '@portunus/client';

export type SaverKind = 'file-system' | 'download' | 'memory';

export interface Saver {
  readonly kind: SaverKind;
  /**
   * Starts saving `name`. `size` is the exact length when known; `atLeast` a lower bound (a folder's zip is at
   * least its files' bytes), so a saver that cannot hold it refuses before any data flows. The file-system saver
   * opens the browser's save dialog, which needs a user gesture: call open() straight from the click that accepts.
   * commit() resolves to what the page shows or links to: the saved file's name, or an object URL for memory.
   */
  open(name: string, size: number | undefined, atLeast?: number): Promise<Sink>;
}
