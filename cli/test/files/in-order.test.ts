import { describe, expect, it } from 'vitest';
import { inOrder } from '../../src/files/in-order.js';

/** A step whose calls finish when the test says, in any order: what runs, and a way to finish each. */
function controlledStep() {
  const waiting = new Map<number, { resolve: (v: string) => void; reject: (e: Error) => void }>();
  let running = 0;
  let most = 0;
  const step = (n: number) =>
    new Promise<string>((resolve, reject) => {
      running++;
      most = Math.max(most, running);
      const done = () => void running--;
      waiting.set(n, {
        resolve: (v) => (done(), resolve(v)),
        reject: (e) => (done(), reject(e)),
      });
    });
  return { step, waiting, most: () => most, running: () => running };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('inOrder', () => {
  it('hands results out in the list order whatever order the steps finish in, never more than the window running', async () => {
    const c = controlledStep();
    const got: string[] = [];
    const consuming = (async () => {
      for await (const r of inOrder([0, 1, 2, 3, 4, 5, 6], 3, c.step)) got.push(r);
    })();
    await tick();
    expect([...c.waiting.keys()]).toEqual([0, 1, 2]);
    c.waiting.get(2)!.resolve('two');
    c.waiting.get(1)!.resolve('one');
    await tick();
    expect(got).toEqual([]);
    c.waiting.get(0)!.resolve('zero');
    await tick();
    expect(got).toEqual(['zero', 'one', 'two']);
    expect([...c.waiting.keys()]).toEqual([0, 1, 2, 3, 4, 5]);
    for (const n of [5, 4, 3]) c.waiting.get(n)!.resolve(String(n));
    await tick();
    c.waiting.get(6)!.resolve('6');
    await consuming;
    expect(got).toEqual(['zero', 'one', 'two', '3', '4', '5', '6']);
    expect(c.most()).toBe(3);
  });

  it('throws a failed step at its place, after the results before it, and leaves no step running', async () => {
    const c = controlledStep();
    const got: string[] = [];
    const consuming = (async () => {
      for await (const r of inOrder([0, 1, 2, 3], 4, c.step)) got.push(r);
    })();
    await tick();
    c.waiting.get(1)!.reject(new Error('step 1 failed'));
    c.waiting.get(0)!.resolve('zero');
    const settled = consuming.then(
      () => 'finished',
      (err: Error) => err.message,
    );
    await tick();
    // The failure is not out yet: steps 2 and 3 still run, and it waits for them.
    expect(c.running()).toBe(2);
    c.waiting.get(2)!.resolve('two');
    c.waiting.get(3)!.resolve('three');
    expect(await settled).toBe('step 1 failed');
    expect(got).toEqual(['zero']);
    expect(c.running()).toBe(0);
  });

  it('waits for the running steps when the consumer stops early', async () => {
    const c = controlledStep();
    const iterator = inOrder([0, 1, 2], 3, c.step);
    const first = iterator.next();
    await tick();
    c.waiting.get(0)!.resolve('zero');
    expect((await first).value).toBe('zero');
    let returned = false;
    const stopping = iterator.return(undefined).then(() => (returned = true));
    await tick();
    expect(returned).toBe(false);
    c.waiting.get(1)!.resolve('one');
    c.waiting.get(2)!.reject(new Error('dropped'));
    await stopping;
    expect(c.running()).toBe(0);
  });
});
