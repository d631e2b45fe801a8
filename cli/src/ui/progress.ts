/**
 * Progress display on stderr: a cli-progress bar (bytes, rate, ETA) on a TTY, a plain line every few seconds
 * otherwise (logs of CI jobs should show movement without a wall of carriage returns).
 */
import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import { formatBytes, formatRate, formatSeconds } from './format.js';

const PLAIN_INTERVAL_MS = 5000;

export class ProgressView {
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly started: number;
  private lastPlain = 0;

  constructor(
    private readonly out: Writable & { isTTY?: boolean },
    private readonly total: number | undefined,
    private label: string,
    private readonly now: () => number,
  ) {
    this.started = now();
    if (out.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: out as NodeJS.WritableStream,
          format: (_opts, params) => this.line(params.value),
          hideCursor: true,
          clearOnComplete: true,
          fps: 8,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total ?? 0, 0);
    }
  }

  update(bytes: number): void {
    if (this.bar) {
      this.bar.update(bytes);
      return;
    }
    const t = this.now();
    if (t - this.lastPlain < PLAIN_INTERVAL_MS) return;
    this.lastPlain = t;
    this.out.write(this.line(bytes) + '\n');
  }

  relabel(label: string): void {
    this.label = label;
  }

  clear(): void {
    if (this.bar) this.out.write('\r\x1b[2K');
  }

  stop(): void {
    this.bar?.stop();
  }

  private line(bytes: number): string {
    const seconds = Math.max((this.now() - this.started) / 1000, 0.001);
    const rate = bytes / seconds;
    const parts = [this.label];
    if (this.total !== undefined && this.total > 0) {
      const pct = Math.min(100, (bytes / this.total) * 100);
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      parts.push(`[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${pct.toFixed(0).padStart(3)}%`);
      parts.push(`${formatBytes(bytes)} / ${formatBytes(this.total)}`);
      const eta = rate > 0 ? (this.total - bytes) / rate : Infinity;
      parts.push(formatRate(rate), Number.isFinite(eta) ? `ETA ${formatSeconds(eta)}` : '');
    } else {
      parts.push(formatBytes(bytes), formatRate(rate));
    }
    return parts.filter(Boolean).join('  ');
  }
}
