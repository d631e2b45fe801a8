/**
 * Storage writes queued per key: the writes of one drop land in the order they were made (a record written twice in
 * quick succession must not end as the older version), while different drops write in parallel.
 */
export class WriteQueues {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `task` after the key's earlier tasks; the returned promise fails with it, the queue goes on. */
  run(key: string, task: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.catch(() => {});
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return next;
  }

  /** Waits for every task queued so far. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.tails.values()]);
  }
}
