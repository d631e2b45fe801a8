/**
 * Runs an async step over a list with up to `window` steps in flight and hands the results out in the list's order.
 * A folder of many small files costs a few file-system calls per file, each a round trip through libuv's thread
 * pool: done one after the other, the calls wait on each other and one core does all the kernel work; a few at once
 * keep the pool's threads (and both cores) busy. A failed step is thrown where its item is, after the results before
 * it, exactly as a loop would throw it.
 */
type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

export async function* inOrder<T, R>(
  items: Iterable<T>,
  window: number,
  step: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const source = items[Symbol.iterator]();
  const running: Promise<Settled<R>>[] = [];
  const fill = (): void => {
    while (running.length < window) {
      const next = source.next();
      if (next.done === true) return;
      running.push(
        step(next.value).then(
          (value): Settled<R> => ({ ok: true, value }),
          (error: unknown): Settled<R> => ({ ok: false, error }),
        ),
      );
    }
  };
  try {
    for (fill(); running.length > 0; fill()) {
      const settled = await running.shift()!;
      if (!settled.ok) throw settled.error;
      yield settled.value;
    }
  } finally {
    // A consumer that stops (or a failure) leaves no step running behind it; their results are dropped.
    await Promise.all(running);
  }
}
