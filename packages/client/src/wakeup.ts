/**
 * "Something changed" for loops that re-check their own state (a frame arrived, the socket drained, the path ended):
 * `next()` resolves at the next `wake()`, and every waiter wakes, so none can miss a change meant for another.
 */
export class Wakeup {
  private readonly waiters = new Set<() => void>();

  next(): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiter = () => {
        this.waiters.delete(waiter);
        resolve();
      };
      this.waiters.add(waiter);
    });
  }

  wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
