/**
 * Open connections per client address (a limit key from address.ts) and in total, each under a cap. The relay
 * keeps two: WebSocket connections (limits.ts, refused with RELAY_LIMIT) and raw TCP sockets that have not upgraded
 * yet (pre-upgrade-sockets.ts, destroyed at once). Entries exist only while connections do, so memory is bounded by
 * the connections themselves.
 */

export type AdmitResult = 'ok' | 'too-many-connections' | 'too-many-from-address';

export class ConnectionCounts {
  private readonly perAddress = new Map<string, number>();
  private count = 0;

  constructor(private readonly caps: { total: number; perAddress: number }) {}

  get total(): number {
    return this.count;
  }

  /** Addresses with at least one counted connection. */
  get addresses(): number {
    return this.perAddress.size;
  }

  /** Counts a new connection if both caps allow it (`perAddress`: false skips that cap); refused ones are not counted. */
  admit(key: string, perAddress = true): AdmitResult {
    if (this.count >= this.caps.total) return 'too-many-connections';
    const current = this.perAddress.get(key) ?? 0;
    if (perAddress && current >= this.caps.perAddress) return 'too-many-from-address';
    this.perAddress.set(key, current + 1);
    this.count++;
    return 'ok';
  }

  /** Forgets one admitted connection. */
  release(key: string): void {
    const current = this.perAddress.get(key);
    if (current === undefined) return;
    this.count--;
    if (current <= 1) this.perAddress.delete(key);
    else this.perAddress.set(key, current - 1);
  }
}
