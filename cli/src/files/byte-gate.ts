/**
 * Backpressure between a producer that feeds a stream and the consumer that drains it, counted in bytes:
 * `wait()` resolves once fewer than `highWater` bytes are produced but not yet consumed. Needed for tar-stream's
 * pack, which pushes headers of bodiless entries (folders, links) without waiting for its reader.
 */
export class ByteGate {
  private produced = 0;
  private consumed = 0;
  private waiter: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  private failure: unknown;

  constructor(private readonly highWater: number) {}

  produce(n: number): void {
    this.produced += n;
  }

  consume(n: number): void {
    this.consumed += n;
    if (this.waiter !== undefined && this.open()) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve();
    }
  }

  /** One waiter at a time: the producer is a single sequential loop. */
  wait(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.open()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Fails the pending and every later wait (the consumer went away). */
  close(reason: unknown): void {
    this.failure = reason;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(reason);
  }

  private open(): boolean {
    return this.produced - this.consumed < this.highWater;
  }
}
