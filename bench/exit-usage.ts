/**
 * Preloaded (`node --import`) into every process a benchmark spawns: at exit it writes the process's own
 * getrusage figures (user + system CPU, peak RSS) as one JSON line to fd 3, a pipe the bench opened. Sampling /proc
 * every 50 ms misses the last slice of a process's life, up to 50 ms of CPU, which is 5% of a side's CPU-s for a
 * 200 MB transfer: too coarse to judge a 5% difference between two builds. It runs in the benchmarked process, so
 * it stays this small; a process started without fd 3 (run by hand) writes nothing.
 */
import { writeSync } from 'node:fs';
import { ownPeakRssBytes } from './own-peak.js';

process.on('exit', () => {
  const { userCPUTime, systemCPUTime } = process.resourceUsage();
  try {
    writeSync(
      3,
      `${JSON.stringify({ cpuSeconds: (userCPUTime + systemCPUTime) / 1e6, peakRssBytes: ownPeakRssBytes() })}\n`,
    );
  } catch {
    // No fd 3: nobody is listening.
  }
});
