/**
 * The last resort, where the page can neither write to disk nor stream a download (a plain-http LAN address is not
 * a secure context, so it has neither service workers nor the File System Access API): the data is kept as Blob
 * parts, up to MEMORY_SAVE_LIMIT, and handed to the page as an object URL to download at the end. A transfer known
 * to be larger is refused before any data flows, with a message that says why and what works instead. The page
 * links to the URL for the user to save and revokes it (URL.revokeObjectURL) once it is no longer shown.
 */
import { createError, type PortunusError } from '@portunus/protocol';
import type { Sink } from '@portunus/client';
import type { Saver } from './saver.js';

/** What a browser tab can reasonably hold: phones kill tabs well before a gigabyte. */
export const MEMORY_SAVE_LIMIT = 512 * 1024 * 1024;
/** Received bytes are moved out of the JS heap into a Blob every this many bytes. */
const PART_BYTES = 8 * 1024 * 1024;

function mib(n: number): string {
  return `${Math.round(n / (1024 * 1024))} MiB`;
}

export function tooBigForMemory(size: number, limit: number): PortunusError {
  return createError('DISK_FULL', `this page can keep at most ${mib(limit)} in memory, and this is ${mib(size)}`, {
    hint: 'This browser cannot save straight to disk from this address. Open the page over https (or on localhost), or in a browser that can, or receive with the portunus command.',
  });
}

export class MemorySaver implements Saver {
  readonly kind = 'memory';

  constructor(
    readonly limit = MEMORY_SAVE_LIMIT,
    private readonly objectUrl: (blob: Blob) => string = (blob) => URL.createObjectURL(blob),
  ) {}

  async open(name: string, size: number | undefined, atLeast = size ?? 0): Promise<Sink> {
    if (atLeast > this.limit) throw tooBigForMemory(atLeast, this.limit);
    let blobs: Blob[] = [];
    let pending: Uint8Array<ArrayBuffer>[] = [];
    let pendingBytes = 0;
    let total = 0;
    const flush = (): void => {
      if (pending.length > 0) blobs.push(new Blob(pending));
      pending = [];
      pendingBytes = 0;
    };
    return {
      write: async (chunk) => {
        total += chunk.length;
        if (total > this.limit) {
          blobs = [];
          pending = [];
          throw tooBigForMemory(total, this.limit);
        }
        pending.push(chunk.slice() as Uint8Array<ArrayBuffer>);
        pendingBytes += chunk.length;
        if (pendingBytes >= PART_BYTES) flush();
      },
      commit: async () => {
        flush();
        const file = new File(blobs, name, { type: 'application/octet-stream' });
        blobs = [];
        return this.objectUrl(file);
      },
      abort: async () => {
        blobs = [];
        pending = [];
      },
    };
  }
}
