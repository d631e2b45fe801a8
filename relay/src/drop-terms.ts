/**
 * What the relay's drops (drops.ts) are given and report: their limits, the clock and randomness they use, who hears
 * of completed transfers, and the figures the metrics and `GET /drops` read.
 */
import type { RandomBytes } from '@portunus/protocol';
import { MAX_DOWNLOADS } from './drop-record.js';
import type { Logger } from './logger.js';

export interface DropLimits {
  maxBytes: number;
  totalBytes: number;
  maxExpiryMs: number;
  perAddress: number;
  bytesPerAddress: number;
}

/** What the metrics hear (drop-metrics.ts). */
export interface DropObserver {
  uploadCompleted(): void;
  downloadCompleted(): void;
}

export interface DropsDeps {
  clock: () => number;
  random: RandomBytes;
  logger: Logger;
  observer: DropObserver;
}

export interface NewDrop {
  id: string;
  length: number;
  expiresMs: number;
  downloads: number;
  /** Limit key of the client address. */
  address: string;
}

export interface DropStats {
  drops: number;
  bytes: number;
  sending: number;
}

export interface Capabilities {
  maxBytes: number;
  maxExpirySeconds: number;
  maxDownloads: number;
}

/** What `GET /drops` tells a client (PROTOCOL.md §11.3), the same whichever book keeps the drops. */
export function dropCapabilities(limits: DropLimits): Capabilities {
  return {
    maxBytes: limits.maxBytes,
    maxExpirySeconds: Math.floor(limits.maxExpiryMs / 1000),
    maxDownloads: MAX_DOWNLOADS,
  };
}
