/**
 * The page's fixed transfer settings, the CLI's defaults where the CLI has a flag (cli/src/commands/common.ts): a
 * person at a page has no flags to pass. Kept in one place so every flow uses the same.
 */
import { frameOverhead, type PathKind } from '@portunus/protocol';
import { DEFAULT_STALL_TIMEOUT_MS } from '@portunus/client';

export interface PageSettings {
  /** Sent in hello. */
  agent: string;
  /** How long to wait for the other side, and for the person to answer (--timeout: 600 s). */
  waitMs: number;
  stallMs: number;
  /** Each direct attempt (--direct-timeout: 5 s). */
  directTimeoutMs: number;
  /** Plaintext bytes per frame. */
  chunkBytes: number;
  /** The data paths the page allows (--transport auto, minus TCP, which a page cannot open). */
  paths: PathKind[];
}

/**
 * Chromium sends data channel messages of at most 262,144 bytes (it receives larger ones: PROTOCOL.md §6.4): with
 * WebRTC among the paths, every frame the page seals must fit one, whichever path carries it (a transfer keeps one
 * frame size on every path).
 */
export const RTC_CHUNK_BYTES = 256 * 1024 - frameOverhead;

/** The settings of a page whose browser has WebRTC (`rtc`) or not. */
export function pageSettings(rtc: boolean): PageSettings {
  return {
    agent: 'portunus-web/0.1.0',
    waitMs: 600_000,
    stallMs: DEFAULT_STALL_TIMEOUT_MS,
    directTimeoutMs: 5_000,
    chunkBytes: rtc ? RTC_CHUNK_BYTES : 1024 * 1024,
    paths: rtc ? ['relay', 'webrtc'] : ['relay'],
  };
}
