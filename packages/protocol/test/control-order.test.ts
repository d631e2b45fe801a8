/** Control messages arriving on several paths (control-order.ts, PROTOCOL.md §5.7): once each, in order, bounded. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeAead } from '../src/aead.node.js';
import { utf8 } from '../src/bytes.js';
import { ControlOrder, MAX_HELD_CONTROL_BYTES } from '../src/control-order.js';
import { FrameSealer } from '../src/frame.js';

const sealer = () => new FrameSealer(nodeAead(randomBytes(32)), 0);

describe('ControlOrder', () => {
  it('delivers each sealed message once, in index order, whichever path brings which copy first', () => {
    const s = sealer();
    const m = [0, 1, 2, 3].map((i) => s.seal(new Uint8Array([i])));
    const order = new ControlOrder();
    // Relay: 0, 1 then dies; direct: 1, 3 (2 still on the relay's way), then the relay's 2, then copies.
    const got = [m[0], m[1], m[1], m[3], m[2], m[3], m[0]].flatMap((f) => order.push(f!));
    expect(got).toEqual([m[0], m[1], m[2], m[3]]);
  });

  it('passes anything that is not a stream-0 frame straight through (the clear handshake, garbage)', () => {
    const order = new ControlOrder();
    const pake = utf8('{"type":"pake"}');
    expect(order.push(pake)).toEqual([pake]);
    expect(order.push(new Uint8Array(3))).toHaveLength(1);
    const data = new FrameSealer(nodeAead(randomBytes(32)), 1).seal(new Uint8Array(1));
    expect(order.push(data)).toEqual([data]);
  });

  it('holds at most maxHeld messages ahead of the next one: more is a PROTOCOL error', () => {
    const s = sealer();
    const m = [0, 1, 2, 3].map((i) => s.seal(new Uint8Array([i])));
    const order = new ControlOrder(2);
    expect(order.push(m[1]!)).toEqual([]);
    expect(order.push(m[2]!)).toEqual([]);
    expect(order.push(m[2]!)).toEqual([]); // a copy of a held one takes no room
    expect(() => order.push(m[3]!)).toThrow(expect.objectContaining({ code: 'PROTOCOL' }));
  });

  it('holds at most MAX_HELD_CONTROL_BYTES in all, whatever the count', () => {
    const s = sealer();
    const first = s.seal(new Uint8Array(1));
    const big = [0, 1].map(() => s.seal(new Uint8Array(MAX_HELD_CONTROL_BYTES / 2)));
    const order = new ControlOrder();
    expect(order.push(big[0]!)).toEqual([]);
    expect(() => order.push(big[1]!)).toThrow(expect.objectContaining({ code: 'PROTOCOL' }));
    // Below the bound, held messages still come out in order once the gap is filled.
    const fresh = new ControlOrder();
    expect(fresh.push(big[0]!)).toEqual([]);
    expect(fresh.push(first)).toEqual([first, big[0]]);
  });
});
