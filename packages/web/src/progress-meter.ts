/**
 * Percent and speed for the progress view. The speed is measured over the last few seconds (not since the start),
 * so it follows a move to a faster path; samples are kept at most one per SAMPLE_MS, so memory stays fixed.
 */
const WINDOW_MS = 3_000;
const SAMPLE_MS = 250;

export interface ProgressReading {
  /** 0..1, or undefined when the size is unknown. */
  fraction: number | undefined;
  /** Bytes per second over the recent window (0 until there are two samples). */
  speed: number;
}

export class ProgressMeter {
  private readonly samples: { at: number; bytes: number }[] = [];

  constructor(private readonly now: () => number) {}

  read(bytes: number, total: number | undefined): ProgressReading {
    const at = this.now();
    const last = this.samples.at(-1);
    if (last === undefined || at - last.at >= SAMPLE_MS) this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[0]!.at > WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const speed = at > first.at ? ((bytes - first.bytes) * 1000) / (at - first.at) : 0;
    const fraction = total === undefined ? undefined : total === 0 ? 1 : Math.min(1, bytes / total);
    return { fraction, speed };
  }
}
