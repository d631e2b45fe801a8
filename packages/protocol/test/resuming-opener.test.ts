/**
 * The receiver across paths (resuming-opener.ts, PROTOCOL.md §5.5): a new path repeats frames the receiver has;
 * those are dropped, never written; a gap (a frame ahead of the next expected one) fails CORRUPT, never buffered.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeAead } from '../src/aead.node.js';
import { FrameOpener } from '../src/frame-opener.js';
import { FrameSealer } from '../src/frame.js';
import { ResumingOpener } from '../src/resuming-opener.js';
import { HeldAead } from './held-aead.js';

const key = randomBytes(32);
function stream(n: number): Uint8Array[] {
  const sealer = new FrameSealer(nodeAead(key), 1);
  return Array.from({ length: n }, (_, i) => sealer.seal(new Uint8Array([i]), i === n - 1));
}
const opener = () => new ResumingOpener(new FrameOpener(nodeAead(key), 1), 1);

describe('ResumingOpener', () => {
  it('opens frames in order and drops a repeat of any earlier one, whichever path brings it', () => {
    const f = stream(5);
    const o = opener();
    const written: number[] = [];
    // Path A carries 0..2, then path B resends from the last ack (1) and goes on to the end.
    for (const frame of [f[0], f[1], f[2], f[1], f[2], f[3], f[1], f[4]]) {
      const r = o.offer(frame!);
      if (r.kind === 'frame') written.push(r.plaintext[0]!);
    }
    expect(written).toEqual([0, 1, 2, 3, 4]);
    expect(o.done).toBe(true);
    // Late copies after FINAL are duplicates too, not errors.
    expect(o.offer(f[2]!)).toEqual({ kind: 'duplicate', index: 2 });
  });

  it('a gap fails CORRUPT, and the stream stays failed', () => {
    const f = stream(4);
    const o = opener();
    o.offer(f[0]!);
    expect(() => o.offer(f[2]!)).toThrow(/unexpected index: expected 1, got 2/);
    expect(() => o.offer(f[1]!)).toThrow(/already failed/);
  });

  it('a duplicate is never decrypted: a forged frame with an old index is dropped, not written', () => {
    const f = stream(3);
    const o = opener();
    o.offer(f[0]!);
    o.offer(f[1]!);
    const forged = Uint8Array.from(f[0]!);
    forged[20]! ^= 0xff;
    expect(o.offer(forged)).toEqual({ kind: 'duplicate', index: 0 });
    // A forged frame at the next index is opened and fails authentication.
    const bad = Uint8Array.from(f[2]!);
    bad[bad.length - 1]! ^= 1;
    expect(() => o.offer(bad)).toThrow(/bad tag/);
  });

  it('a frame of another stream or a malformed one fails CORRUPT', () => {
    const other = new FrameSealer(nodeAead(key), 2).seal(new Uint8Array(1));
    expect(() => opener().offer(other)).toThrow(/wrong stream/);
    expect(() => opener().offer(new Uint8Array(5))).toThrow(/short frame/);
  });
});

describe('ResumingOpener on an asynchronous AEAD', () => {
  it('drops duplicates at once (unopened) and opens the next frame when its promise settles', async () => {
    const f = stream(3);
    const held = new HeldAead(nodeAead(key));
    const o = new ResumingOpener(new FrameOpener(held, 1), 1);
    const first = o.offer(f[0]!);
    expect(held.held).toBe(1);
    held.releaseNewestFirst();
    expect(await first).toEqual({ kind: 'frame', index: 0, final: false, plaintext: Uint8Array.of(0) });
    expect(o.offer(f[0]!)).toEqual({ kind: 'duplicate', index: 0 });
    expect(held.held).toBe(0);
    const second = o.offer(f[1]!);
    held.releaseNewestFirst();
    expect(await second).toEqual({ kind: 'frame', index: 1, final: false, plaintext: Uint8Array.of(1) });
    const last = o.offer(f[2]!);
    held.releaseNewestFirst();
    expect(await last).toEqual({ kind: 'frame', index: 2, final: true, plaintext: Uint8Array.of(2) });
    expect(o.done).toBe(true);
  });
});
