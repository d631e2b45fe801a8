/**
 * Frame buffers used again (frame-pool.ts): an acknowledged frame goes back to the pool only when it was handed to
 * exactly one link, and allocChunk then reads the next chunk into the same memory, in the shape the sealer seals in
 * place. Anything else (a resent frame, a buffer the pool never made, spares beyond 16 MiB) is left to the garbage
 * collector.
 */
import { describe, expect, it } from 'vitest';
import { nodeAead } from '@portunus/protocol/node';
import { DATA_STREAM, FrameSealer, frameOverhead } from '@portunus/protocol';
import { allocChunk, FrameRecycling } from '@portunus/client';

const SIZE = 4096 + 17; // a size no other test in this worker pools

function sealed(): Uint8Array {
  const chunk = allocChunk(SIZE);
  chunk.fill(1);
  const frame = new FrameSealer(nodeAead(new Uint8Array(32)), DATA_STREAM).sealOwned(chunk) as Uint8Array;
  expect(frame.buffer).toBe(chunk.buffer); // sealed where it was read
  return frame;
}

describe('frame pool', () => {
  it('reads the next chunk into a frame acknowledged after one send', () => {
    const recycling = new FrameRecycling();
    const frame = sealed();
    recycling.sent(frame);
    recycling.released(frame);
    const next = allocChunk(SIZE);
    expect(next.buffer).toBe(frame.buffer);
    expect(next.byteOffset + next.length + frameOverhead - next.byteOffset).toBe(frame.length);
    expect(next.length).toBe(SIZE);
  });

  it('keeps a frame sent twice (the data moved) or never sent out of the pool', () => {
    const recycling = new FrameRecycling();
    const resent = sealed();
    recycling.sent(resent);
    recycling.sent(resent);
    recycling.released(resent);
    const unsent = sealed();
    recycling.released(unsent);
    const next = allocChunk(SIZE);
    expect([resent.buffer, unsent.buffer]).not.toContain(next.buffer);
  });

  it('keeps 16 MiB of spare chunks, making room by dropping spares of another size first', () => {
    const big = 1024 * 1024 - 3; // sizes no other test in this worker pools
    const small = 256 * 1024 - 3;
    const release = (frames: Uint8Array[]) => {
      const recycling = new FrameRecycling();
      for (const frame of frames) {
        recycling.sent(frame);
        recycling.released(frame);
      }
    };
    // 17 frames of ~1 MiB acknowledged at once: 16 fit, the 17th is left to the collector.
    const bigs = Array.from({ length: 17 }, () => allocChunk(big));
    release(bigs);
    const again = Array.from({ length: 17 }, () => allocChunk(big).buffer);
    expect(again.filter((buffer) => bigs.some((frame) => frame.buffer === buffer))).toHaveLength(16);
    release(again.map((buffer) => new Uint8Array(buffer, 0, big))); // the pool full again: 16 fit, 1 dropped
    // Smaller frames (the data moved to WebRTC) displace the big spares instead of being dropped.
    const smalls = Array.from({ length: 64 }, () => allocChunk(small));
    release(smalls);
    const reused = Array.from({ length: 64 }, () => allocChunk(small).buffer);
    expect(reused.filter((buffer) => smalls.some((frame) => frame.buffer === buffer))).toHaveLength(64);
    expect(bigs.map((frame) => frame.buffer)).not.toContain(allocChunk(big).buffer);
  });

  it('takes back only buffers it made', () => {
    const recycling = new FrameRecycling();
    const foreign = new Uint8Array(SIZE + frameOverhead);
    recycling.sent(foreign);
    recycling.released(foreign);
    expect(allocChunk(SIZE).buffer).not.toBe(foreign.buffer);
  });
});
