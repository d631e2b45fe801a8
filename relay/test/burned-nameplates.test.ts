import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BurnedNameplates, MAX_BURNS_PER_ADDRESS } from '../src/burned-nameplates.js';

const TTL = 1000;

describe('BurnedNameplates', () => {
  it('remembers a burn until its TTL passes', () => {
    const burned = new BurnedNameplates({ capacity: 10, ttlMs: TTL });
    expect(burned.add(5, 100, ['x', 'y'])).toBe(true);
    expect(burned.has(5, 100 + TTL - 1)).toBe(true);
    expect(burned.has(5, 100 + TTL)).toBe(false);
    expect(burned.size).toBe(0);
    expect(burned.trackedAddresses).toBe(0);
  });

  it('forgets the oldest burn when full', () => {
    const burned = new BurnedNameplates({ capacity: 3, ttlMs: TTL });
    for (let n = 1; n <= 5; n++) burned.add(n, n, [`addr${n}`]);
    expect(burned.size).toBe(3);
    expect([1, 2, 3, 4, 5].map((n) => burned.has(n, 10))).toEqual([false, false, true, true, true]);
    expect(burned.trackedAddresses).toBe(3);
  });

  it(`remembers at most ${MAX_BURNS_PER_ADDRESS} burns per address, as either side, and counts a self-pairing once`, () => {
    const burned = new BurnedNameplates({ capacity: 1000, ttlMs: TTL });
    for (let n = 1; n <= MAX_BURNS_PER_ADDRESS; n++)
      expect(burned.add(n, 0, n % 2 === 0 ? ['self', 'self'] : [`other${n}`, 'self'])).toBe(true);
    expect(burned.add(100, 0, ['fresh', 'self'])).toBe(false);
    expect(burned.add(101, 0, ['self', 'fresh'])).toBe(false);
    expect(burned.has(100, 0)).toBe(false);
    expect(burned.size).toBe(MAX_BURNS_PER_ADDRESS);
    // Once one of its burns lapses or is forgotten, the address may take part in a remembered burn again.
    expect(burned.add(102, 0, ['fresh', 'other'])).toBe(true);
    burned.sweep(TTL);
    expect(burned.size).toBe(0);
    expect(burned.add(103, TTL, ['self'])).toBe(true);
  });

  it('keeps its bookkeeping within the capacity under a flood from many addresses', () => {
    const burned = new BurnedNameplates({ capacity: 50, ttlMs: TTL });
    for (let n = 1; n <= 10_000; n++) burned.add(n, 0, [`a${n}`, `b${n}`]);
    expect(burned.size).toBe(50);
    expect(burned.trackedAddresses).toBe(100);
  });
});

describe('the documented cap', () => {
  it('PROTOCOL.md and the README state the burns remembered per address as the code does', () => {
    const read = (path: string): string => readFileSync(new URL(path, import.meta.url), 'utf8').replace(/\s+/g, ' ');
    expect(read('../../packages/protocol/PROTOCOL.md')).toContain(
      `at most ${MAX_BURNS_PER_ADDRESS} burns that involve one client address`,
    );
    expect(read('../../README.md')).toContain(`at most ${MAX_BURNS_PER_ADDRESS} per client address`);
  });
});
