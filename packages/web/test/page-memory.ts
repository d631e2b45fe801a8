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

export interface MemoryPeaks {
  before: MemorySample;
  peak: MemorySample;
  samples: number;
  /** The most progress (bytes) a sample was taken at. */
  sampledAt: number;
}

/**
 * Samples once per burst of a CLI's `--json` output (a progress event at most every 250 ms while data moves), so the
 * transfer paces the sampling and no timer does; `stop` waits for the sample under way and gives the peaks.
 */
export async function sampleOnProgress(
  probe: MemoryProbe,
  output: NodeJS.ReadableStream,
): Promise<{ stop(): Promise<MemoryPeaks> }> {
  const before = await probe.sample();
  const peak: MemorySample = { ...before };
  let samples = 0;
  let sampledAt = 0;
  let progress = 0;
  let sampling: Promise<void> | undefined;
  const failures: unknown[] = [];
  const onOutput = (chunk: Buffer): void => {
    for (const m of chunk.toString('utf8').matchAll(/"event":"progress","bytes":(\d+)/g)) {
      progress = Math.max(progress, Number(m[1]));
    }
    if (sampling) return;
    const at = progress;
    sampling = probe
      .sample()
      .then(
        (s) => {
          peak.heap = Math.max(peak.heap, s.heap);
          peak.renderers = Math.max(peak.renderers, s.renderers);
          samples += 1;
          sampledAt = Math.max(sampledAt, at);
        },
        (err: unknown) => void failures.push(err),
      )
      .finally(() => (sampling = undefined));
  };
  output.on('data', onOutput);
  return {
    async stop() {
      output.off('data', onOutput);
      await sampling;
      if (failures.length > 0) throw failures[0];
      return { before, peak, samples, sampledAt };
    },
  };
}
