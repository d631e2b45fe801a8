/**
 * The last way to keep a received file, when the browser can neither write to disk nor stream a download: the
 * data stays in memory until the transfer is verified, then becomes a Blob the person downloads. Bounded: an offer
 * larger than MEMORY_LIMIT_BYTES is refused before any data flows (memoryRefusal), and a stream that grows past it
 * (an offer of unknown size) fails.
 */
import { createError, type Offer, offerSize, type PortunusError } from '@portunus/protocol';
import type { Sink } from '@portunus/client';
import { formatBytes } from './format.js';

/** What a page may hold of one transfer: big enough for photos and documents, small enough for a phone. */
export const MEMORY_LIMIT_BYTES = 512 * 1024 * 1024;

/** The refusal for an offer of `size` bytes that cannot be kept in memory, or undefined when it fits. */
export function memoryRefusal(size: number, limit = MEMORY_LIMIT_BYTES): PortunusError | undefined {
  if (size <= limit) return undefined;
  return createError(
    'DISK_FULL',
    `this browser keeps received data in memory, up to ${formatBytes(limit)}; the offer is ${formatBytes(size)}`,
    {
      hint: 'Open the link in a browser that saves straight to disk (Chrome or Edge), or receive it with the portunus command.',
    },
  );
}

export class MemorySink implements Sink {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  /** The verified data, once committed. */
  blob: Blob | undefined;

  constructor(
    private readonly type: string,
    private readonly limit = MEMORY_LIMIT_BYTES,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (this.bytes + chunk.length > this.limit) throw memoryRefusal(this.bytes + chunk.length, this.limit)!;
    this.parts.push(chunk);
    this.bytes += chunk.length;
  }

  async commit(): Promise<string> {
    this.blob = new Blob(this.parts as BlobPart[], { type: this.type });
    this.parts = [];
    return 'memory';
  }

  async abort(): Promise<void> {
    this.parts = [];
    this.bytes = 0;
  }
}

/** The memory saver (receive-flow.ts Saver): refuses what it could not hold, keeps the rest as a Blob. */
export const memorySaver = {
  refuse: (offer: Offer): PortunusError | undefined => memoryRefusal(offerSize(offer) ?? 0),
  open: async (offer: Offer): Promise<MemorySink> =>
    new MemorySink(offer.kind === 'folder' ? 'application/x-tar' : 'application/octet-stream'),
};
