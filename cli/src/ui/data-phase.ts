/**
 * The data phase of a transfer: from the moment the first data path is up to the last payload byte sent (sender)
 * or received and verified (receiver). The progress display and the final summary both read their rate from it, so
 * the two never disagree; the key exchange, the receiver's answer and the receipts are outside it.
 */
export class DataPhase {
  /** Payload bytes so far: the file's bytes, a folder's tar stream, or standard input (before encryption). */
  bytes = 0;
  private ended: number | undefined;

  constructor(private readonly started: number) {}

  update(bytes: number): void {
    this.bytes = bytes;
  }

  /** The last byte has gone (or the transfer stopped); later calls keep the first end. */
  end(now: number): void {
    this.ended ??= now;
  }

  seconds(now: number): number {
    return Math.max(((this.ended ?? now) - this.started) / 1000, 0);
  }

  /** Average bytes per second over the phase so far (0 before any time has passed). */
  rate(now: number): number {
    const seconds = this.seconds(now);
    return seconds > 0 ? this.bytes / seconds : 0;
  }
}
