/**
 * Frame buffers used again (frame-pool.ts): an acknowledged frame goes back to the pool only when it was handed to
 * exactly one byte-stream link (relay or tcp), and allocChunk then reads the next chunk into the same memory, in the
 * shape the sealer seals in place. Anything else (a resent frame, a WebRTC frame, a buffer the pool never made) is
 * left to the garbage collector.
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
  it('reads the next chunk into a frame acknowledged after one send on the relay or tcp', () => {
    for (const kind of ['relay', 'tcp'] as const) {
      const recycling = new FrameRecycling();
      const frame = sealed();
      recycling.sent(frame, kind);
      recycling.released(frame);
      const next = allocChunk(SIZE);
      expect(next.buffer).toBe(frame.buffer);
      expect(next.byteOffset + next.length + frameOverhead - next.byteOffset).toBe(frame.length);
      expect(next.length).toBe(SIZE);
    }
  });

  it('keeps a frame sent twice (the data moved) or lent to WebRTC out of the pool', () => {
    const recycling = new FrameRecycling();
    const resent = sealed();
    recycling.sent(resent, 'relay');
    recycling.sent(resent, 'tcp');
    recycling.released(resent);
    const webrtc = sealed();
    recycling.sent(webrtc, 'webrtc');
    recycling.released(webrtc);
    const unsent = sealed();
    recycling.released(unsent);
    const next = allocChunk(SIZE);
    expect([resent.buffer, webrtc.buffer, unsent.buffer]).not.toContain(next.buffer);
  });

  it('takes back only buffers it made', () => {
    const recycling = new FrameRecycling();
    const foreign = new Uint8Array(SIZE + frameOverhead);
    recycling.sent(foreign, 'tcp');
    recycling.released(foreign);
    expect(allocChunk(SIZE).buffer).not.toBe(foreign.buffer);
  });
});
