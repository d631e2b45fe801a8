/**
 * How much this machine's own cost of writing a file moves between runs: the part of every path's CPU that no
 * code of Portunus decides. One process writes `bytes` into a new file in 1 MiB positional writes from one
 * buffer, syncs and removes it, and reports the system CPU seconds that took.
 *
 * On the VMs this project is measured on, that cost swings tenfold: 0.20-0.22 s for 1 GiB when the write starts
 * right after another GiB was freed, 1.7-2.3 s when it starts 2-8 s later (`perf`: the kernel's copy
 * into new page-cache pages, copy_folio_from_iter_atomic). The guest hands free memory back to its host (virtio
 * balloon free page reporting, /sys/module/page_reporting) a moment after it is freed, and touching it again then
 * costs a fault in the host. A GiB path's sender and receiver take ~4 CPU-s in all, so which process meets such
 * pages decides more than the CPU target's 15%. With reporting held (order 11: no block is large enough to report),
 * the same write took 0.21-0.23 s every time.
 *
 * `holdPageReporting` holds it for a bench run where the machine allows (root, the module's parameter present):
 * `npm run bench -- --hold-page-reporting`. It changes the machine until restored, so it is asked for, never done
 * by default.
 */
import { closeSync, fsyncSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const CHUNK = 1024 * 1024;
const ORDER = '/sys/module/page_reporting/parameters/page_reporting_order';
/** Above the largest block the kernel's buddy allocator has (order 10): nothing is ever reported. */
const HELD_ORDER = 11;

/** System CPU seconds (this process) to write, sync and remove a new file of `bytes` in `dir`. */
export function fileWriteSystemSeconds(dir: string, bytes: number): number {
  const chunk = Buffer.alloc(CHUNK, 7);
  const path = join(dir, 'file-write.bin');
  const start = process.cpuUsage();
  const fd = openSync(path, 'w');
  try {
    for (let at = 0; at < bytes; at += CHUNK) writeSync(fd, chunk, 0, Math.min(CHUNK, bytes - at), at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const seconds = process.cpuUsage(start).system / 1e6;
  unlinkSync(path);
  return seconds;
}

/** The smallest block order the guest reports to its host, or undefined where it does not report. */
export function pageReportingOrder(): number | undefined {
  try {
    const order = Number(readFileSync(ORDER, 'utf8').trim());
    return Number.isInteger(order) ? order : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops free page reporting until the returned function restores the order it had. Throws where the machine does
 * not report or the parameter cannot be written (not root): the caller asked for a condition it cannot have.
 */
export function holdPageReporting(): () => void {
  const before = pageReportingOrder();
  if (before === undefined)
    throw new Error(`--hold-page-reporting: ${ORDER} is not there: this machine does not report`);
  writeFileSync(ORDER, String(HELD_ORDER));
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    writeFileSync(ORDER, String(before));
  };
}

/** One line on the machine's free page reporting, for the bench's output. */
export function describePageReporting(held: boolean): string {
  const order = pageReportingOrder();
  if (order === undefined) return 'free page reporting: none on this machine';
  if (held) return `free page reporting: held for this run (order ${HELD_ORDER}; restored after)`;
  return (
    `free page reporting: on (order ${order}): a write landing on memory freed a moment before costs up to 10x the ` +
    `system CPU (file-write.ts); --hold-page-reporting holds it for the run`
  );
}

/**
 * `--hold-page-reporting` on a bench's command line: holds reporting until the process exits, a signal included
 * (a bench stopped by Ctrl-C leaves the machine as it found it). Returns whether it holds.
 */
export function holdPageReportingIfAsked(argv: readonly string[]): boolean {
  if (!argv.includes('--hold-page-reporting')) return false;
  const restore = holdPageReporting();
  process.once('exit', restore);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      restore();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  return true;
}
