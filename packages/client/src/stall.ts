/**
 * The one no-progress rule of a transfer (PROTOCOL.md §4.11): once the peers are paired, no wait may last
 * longer than the stall timeout without progress. Progress is anything that shows the other side and the path are
 * alive and moving: a data frame written, an ack that advances, a message from the relay. `--stall-timeout` sets it
 * (slow links, tests); every wait of the session, the data plane and the relay keepalive derive from this one value:
 * the path carrying the data is dead after half of it without acks (the data fails over, with time to spare), the
 * receiver gives up after all of it without new data, the relay is dropped after all of it in silence.
 */

/** Default of `--stall-timeout`: long enough for a disk that pauses or a congested link, short enough to notice. */
export const DEFAULT_STALL_TIMEOUT_MS = 60_000;

/**
 * A deadline that progress pushes back: `check()` throws once `stallMs` passed since the last `progress()`.
 * Callers check it whenever they wake up (they wake at least every quarter of the timeout).
 */
export class StallWatch {
  private last: number;

  constructor(
    private readonly stallMs: number,
    private readonly now: () => number,
    private readonly what: () => string,
  ) {
    this.last = now();
  }

  progress(): void {
    this.last = this.now();
  }

  /** True once the deadline passed. */
  get stalled(): boolean {
    return this.now() - this.last >= this.stallMs;
  }

  /** Milliseconds until the deadline (0 once it passed). */
  get remainingMs(): number {
    return Math.max(0, this.stallMs - (this.now() - this.last));
  }

  describe(): string {
    return `${this.what()} for ${this.stallMs / 1000} s`;
  }
}
