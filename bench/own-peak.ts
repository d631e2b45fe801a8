/**
 * A process's own peak RSS. getrusage's ru_maxrss is wrong for a spawned process on Linux: fork copies the parent's
 * address space, and exec keeps that copy's high-water mark, so every child of a 300 MB parent reported at least
 * 300 MB (a `node -e` whose VmHWM was 40 MB said 304). `npm run bench` grows to ~150 MB before its transfers, and
 * every process it spawned, the essential-work reference's included, reported 147.2 MB. VmHWM in /proc/self/status
 * is the high-water mark of the process's own image; ru_maxrss stays the answer where /proc is missing.
 */
import { readFileSync } from 'node:fs';

export function ownPeakRssBytes(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm !== null) return Number(hwm[1]) * 1024;
  } catch {
    // No /proc (not Linux): ru_maxrss below.
  }
  return process.resourceUsage().maxRSS * 1024;
}
