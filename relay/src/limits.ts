/**
 * Per-address and global limits, as pure bookkeeping (the caller passes the time). A client address is counted
 * under its limit key (`key`, from addressKey in address.ts). Memory stays bounded: connection counts exist only
 * while connections do, and failed-claim records are dropped once their window has passed (and capped in number,
 * oldest first, against address-spraying).
 */
import { ConnectionCounts, type AdmitResult } from './connection-counts.js';

export type { AdmitResult } from './connection-counts.js';

export interface LimitsOptions {
  maxConnections: number;
  maxConnectionsPerIp: number;
  failedClaimsPerMinute: number;
  /** Most addresses whose failed claims are remembered at once. */
  maxTrackedAddresses?: number;
  /** Told of every failed claim (several relay instances share them, PROTOCOL.md §12). */
  onFailedClaim?: (key: string) => void;
}

const WINDOW_MS = 60_000;

export class Limits {
  private readonly counts: ConnectionCounts;
  /** Times of the most recent failed claims per address (at most failedClaimsPerMinute of them), oldest first. */
  private readonly failures = new Map<string, number[]>();
  private readonly maxTracked: number;

  constructor(private readonly options: LimitsOptions) {
    this.maxTracked = options.maxTrackedAddresses ?? 100_000;
    this.counts = new ConnectionCounts({ total: options.maxConnections, perAddress: options.maxConnectionsPerIp });
  }

  get connections(): number {
    return this.counts.total;
  }

  /**
   * Counts a new connection if both caps allow it; a refused connection is not counted. A link from another relay
   * instance (`link`) counts against the total only: that instance applied the per-address cap.
   */
  admit(key: string, link = false): AdmitResult {
    return this.counts.admit(key, !link);
  }

  /** Forgets one admitted connection. */
  release(key: string): void {
    this.counts.release(key);
  }

  recordFailedClaim(key: string, now: number): void {
    this.options.onFailedClaim?.(key);
    const times = this.failures.get(key) ?? [];
    times.push(now);
    if (times.length > this.options.failedClaimsPerMinute) times.shift();
    // Re-insert so that Map order is least-recently-failed first, which is what eviction drops.
    this.failures.delete(key);
    this.failures.set(key, times);
    if (this.failures.size > this.maxTracked) {
      const oldest = this.failures.keys().next();
      if (!oldest.done) this.failures.delete(oldest.value);
    }
  }

  /** False while the address has used up its failed claims of the last minute. */
  claimAllowed(key: string, now: number): boolean {
    const times = this.failures.get(key);
    if (times === undefined || times.length < this.options.failedClaimsPerMinute) return true;
    return now - times[0]! >= WINDOW_MS;
  }

  /** Drops failure records whose window has passed. */
  sweep(now: number): void {
    for (const [key, times] of this.failures) {
      if (now - times[times.length - 1]! >= WINDOW_MS) this.failures.delete(key);
    }
  }

  get trackedAddresses(): number {
    return this.failures.size;
  }
}
