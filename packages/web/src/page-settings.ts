/**
 * The page's fixed transfer settings, the CLI's defaults where the CLI has a flag (cli/src/commands/common.ts): a
 * person at a page has no flags to pass. Kept in one place so every flow uses the same.
 */
import type { PathKind } from '@portunus/protocol';
import { DEFAULT_STALL_TIMEOUT_MS } from '@portunus/client';

export interface PageSettings {
  /** Sent in hello. */
  agent: string;
  /** How long to wait for the other side, and for the person to answer (--timeout: 600 s). */
  waitMs: number;
  stallMs: number;
  /** Each direct attempt (--direct-timeout: 5 s). */
  directTimeoutMs: number;
  /** Plaintext bytes per frame (--chunk-size: 1 MiB). */
  chunkBytes: number;
  /** The data paths the page allows (--transport auto, minus TCP, which a page cannot open). */
  paths: PathKind[];
}

export const PAGE_SETTINGS: PageSettings = {
  agent: 'portunus-web/0.1.0',
  waitMs: 600_000,
  stallMs: DEFAULT_STALL_TIMEOUT_MS,
  directTimeoutMs: 5_000,
  chunkBytes: 1024 * 1024,
  paths: ['relay'],
};
