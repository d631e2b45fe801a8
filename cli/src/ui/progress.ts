/**
 * Progress display on stderr: a cli-progress bar (bytes, rate, ETA) on a TTY; otherwise one plain line every
 * PLAIN_INTERVAL_MS of the data phase, driven by the clock whether or not bytes moved (logs of CI jobs show movement,
 * or that there is none, without a wall of carriage returns). Bytes and rate come from the DataPhase.
 */
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import type cliProgressModule from 'cli-progress';
import type { Clock } from './clock.js';
import type { DataPhase } from './data-phase.js';
import { formatBytes, formatRate, formatSeconds } from './format.js';

export const PLAIN_INTERVAL_MS = 5000;

/**
 * cli-progress (CommonJS, with its string-width dependencies) is loaded when the first bar is drawn, not at start-up:
 * `--help`, usage errors, `--json` and every run without a terminal draw none.
 */
let cliProgress: typeof cliProgressModule | undefined;
function loadCliProgress(): typeof cliProgressModule {
  cliProgress ??= createRequire(import.meta.url)('cli-progress') as typeof cliProgressModule;
  return cliProgress;
}

export class ProgressView {
  private readonly bar: cliProgressModule.SingleBar | undefined;
  private readonly stopTicking: (() => void) | undefined;

  constructor(
    private readonly out: Writable & { isTTY?: boolean },
    private readonly total: number | undefined,
    private label: string,
    private readonly phase: DataPhase,
    private readonly clock: Clock,
  ) {
    if (out.isTTY) {
      const cliProgress = loadCliProgress();
      this.bar = new cliProgress.SingleBar(
        {
          stream: out as NodeJS.WritableStream,
          format: () => this.line(),
          hideCursor: true,
          clearOnComplete: true,
          fps: 8,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total ?? 0, 0);
    } else {
      this.stopTicking = clock.every(PLAIN_INTERVAL_MS, () => this.out.write(this.line() + '\n'));
    }
  }

  /** The bar redraws at its own pace; plain lines follow the clock. */
  update(): void {
    this.bar?.update(this.phase.bytes);
  }

  relabel(label: string): void {
    this.label = label;
  }

  clear(): void {
    if (this.bar) this.out.write('\r\x1b[2K');
  }

  stop(): void {
    this.bar?.stop();
    this.stopTicking?.();
  }

  private line(): string {
    const now = this.clock.now();
    const bytes = this.phase.bytes;
    const rate = this.phase.rate(now);
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
