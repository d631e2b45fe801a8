/**
 * Picks where received data goes, from what the browser has: the File System Access API (Chromium on desktop),
 * else a download streamed through the service worker (any secure context that can register one), else memory up
 * to MEMORY_SAVE_LIMIT (a plain-http LAN address, where neither exists).
 */
import { DownloadSaver } from './download-saver.js';
import { FileSystemSaver, savePicker } from './file-system-saver.js';
import { MemorySaver } from './memory-saver.js';
import type { Saver } from './saver.js';

export async function pickSaver(scope: Window = window): Promise<Saver> {
  const pick = savePicker(scope);
  if (pick !== undefined) return new FileSystemSaver(pick);
  if (scope.isSecureContext && 'serviceWorker' in scope.navigator) {
    try {
      return await DownloadSaver.register('/sw.js', scope.navigator.serviceWorker);
    } catch {
      // A worker that cannot be registered (a private window in some browsers) leaves memory.
    }
  }
  return new MemorySaver();
}
