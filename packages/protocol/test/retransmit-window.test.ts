/** The sender's retransmit window (retransmit-window.ts, PROTOCOL.md §5.4): bounded, released by acks, replayable. */
import { describe, expect, it } from 'vitest';
import { RetransmitWindow } from '../src/retransmit-window.js';

const frame = (n: number, fill = 0) => new Uint8Array(n).fill(fill);

describe('RetransmitWindow', () => {
  it('holds frames until acknowledged and reports what a new path must resend', () => {
    const w = new RetransmitWindow(100);
    w.push(0, frame(30, 0), false);
    w.push(1, frame(30, 1), false);
    w.push(2, frame(30, 2), false);
    expect([w.acked, w.next, w.bytes]).toEqual([0, 3, 90]);
    expect(w.ack(2)).toBe(2);
    expect([w.acked, w.next, w.bytes, w.ackedBytes]).toEqual([2, 3, 30, 60]);
    expect(w.unacked().map((f) => f[0])).toEqual([2]);
  });

  it('hands each released frame, oldest first, to the caller (which may use its memory again)', () => {
    const w = new RetransmitWindow(100);
    for (let i = 0; i < 3; i++) w.push(i, frame(10, i), false);
    const released: number[] = [];
    w.ack(2, (f) => released.push(f[0]!));
    w.ack(2, (f) => released.push(f[0]!));
    expect(released).toEqual([0, 1]);
  });

  it('is bounded: a full window takes nothing more until an ack frees room', () => {
    const w = new RetransmitWindow(100);
    w.push(0, frame(60), false);
    expect(w.hasRoom(50)).toBe(false);
    expect(() => w.push(1, frame(50), false)).toThrow(/overfull/);
    w.ack(1);
    expect(w.hasRoom(50)).toBe(true);
    // An empty window takes one frame even when larger than the bound, so a transfer can always progress.
    expect(new RetransmitWindow(10).hasRoom(1000)).toBe(true);
  });

  it('a stale or repeated ack releases nothing; an ack beyond what was sent is a PROTOCOL error', () => {
    const w = new RetransmitWindow(100);
    w.push(0, frame(10), false);
    w.push(1, frame(10), false);
    expect(w.ack(1)).toBe(1);
    expect(w.ack(1)).toBe(0);
    expect(w.ack(0)).toBe(0);
    expect(() => w.ack(3)).toThrow(expect.objectContaining({ code: 'PROTOCOL' }));
  });

  it('is complete only once the FINAL frame is pushed and everything is acknowledged', () => {
    const w = new RetransmitWindow(100);
    w.push(0, frame(10), false);
    w.push(1, frame(10), true);
    expect(w.complete).toBe(false);
    w.ack(1);
    expect(w.complete).toBe(false);
    w.ack(2);
    expect(w.complete).toBe(true);
    expect(() => w.push(2, frame(1), false)).toThrow(/after the final/);
  });

  it('demands consecutive indexes', () => {
    const w = new RetransmitWindow(100, 5);
    expect(() => w.push(6, frame(1), false)).toThrow(/expected/);
    w.push(5, frame(1), false);
    expect(w.next).toBe(6);
  });
});
