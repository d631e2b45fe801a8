/**
 * A bounded FIFO between producers and one consumer. `push` waits while the queue is full (backpressure, never an
 * unbounded buffer); `shift` waits while it is empty; `fail` wakes everyone with an error.
 */
export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private readonly takers: { resolve: (v: T) => void; reject: (e: unknown) => void }[] = [];
  private readonly spaceWaiters: (() => void)[] = [];
  private error: unknown;
  private failed = false;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.items.length;
  }

  async push(item: T): Promise<void> {
    while (!this.failed && this.items.length >= this.capacity) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    if (this.failed) throw this.error;
    const taker = this.takers.shift();
    if (taker) taker.resolve(item);
    else this.items.push(item);
  }

  async shift(): Promise<T> {
    if (this.items.length > 0) {
      const item = this.items.shift()!;
      this.spaceWaiters.shift()?.();
      return item;
    }
    if (this.failed) throw this.error;
    return new Promise<T>((resolve, reject) => this.takers.push({ resolve, reject }));
  }

  /** Items already queued are still delivered; after them, `shift` rejects with `error`. */
  fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.error = error;
    for (const t of this.takers.splice(0)) t.reject(error);
    for (const w of this.spaceWaiters.splice(0)) w();
  }
}

/**
 * Waits for `promise` to settle, but at most `ms`: for clean-ups that should finish but must never hang (closing a
 * socket or a peer connection). Rejections are swallowed; the timer never outlives the wait.
 */
export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([
      promise.then(
        () => undefined,
        () => undefined,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Rejects with `onTimeout()` if `promise` has not settled within `ms`. The timer never outlives the race. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => unknown): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
