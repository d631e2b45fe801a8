/**
 * The scavenge every few MiB of data (young-gc.ts): it runs, and V8's `gc` reaches no context of the process, so the
 * main context keeps no `gc` global and a context made later has none either.
 */
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { YOUNG_GC_EVERY_BYTES, YoungGc } from '../src/young-gc.js';

describe('young-generation collection', () => {
  it('collects after YOUNG_GC_EVERY_BYTES without exposing gc', () => {
    const young = new YoungGc();
    for (let moved = 0; moved < 3 * YOUNG_GC_EVERY_BYTES; moved += 1024 * 1024) young.moved(1024 * 1024);
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
