/**
 * What a page holds in memory, read from outside it: its JS heap through the DevTools protocol
 * (Runtime.getHeapUsage: the V8 heap's used size plus `backingStorageSize`, the ArrayBuffer contents that live
 * outside that heap, where a whole file read with file.arrayBuffer() would sit), and the resident memory of the
 * browser's renderer processes from /proc (all of them together: the page's, its service worker's, a spare one;
 * SystemInfo.getProcessInfo lists their ids but does not say which renders what).
 *
 * Each sample starts with a full garbage collection (HeapProfiler.collectGarbage), so it reads what the page keeps,
 * not the chunks it is done with: left alone, V8 let those pile up to about 90 MiB between collections while the page
 * streamed a file (a saw-tooth that does not grow with the file, measured sending 256 MiB).
 */
import { readFile } from 'node:fs/promises';
import type { Browser, CDPSession, Page } from 'playwright-core';

export interface MemorySample {
  /** JS heap used plus ArrayBuffer backing stores after a full collection, in bytes. */
  heap: number;
  /** Resident memory of all renderer processes together, in bytes. */
  renderers: number;
}

export interface MemoryProbe {
  sample(): Promise<MemorySample>;
}

export async function memoryProbe(browser: Browser, page: Page): Promise<MemoryProbe> {
  const pageCdp: CDPSession = await page.context().newCDPSession(page);
  const browserCdp: CDPSession = await browser.newBrowserCDPSession();
  return {
    async sample() {
      await pageCdp.send('HeapProfiler.collectGarbage');
      const usage = (await pageCdp.send('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number };
      const { processInfo } = (await browserCdp.send('SystemInfo.getProcessInfo')) as {
        processInfo: { type: string; id: number }[];
      };
      const rss = await Promise.all(processInfo.filter((p) => p.type === 'renderer').map((p) => residentBytes(p.id)));
      return { heap: usage.usedSize + (usage.backingStorageSize ?? 0), renderers: rss.reduce((a, b) => a + b, 0) };
    },
  };
}

/** VmRSS of a process, 0 for one that has gone since it was listed. */
async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return kib ? Number(kib[1]) * 1024 : 0;
}
