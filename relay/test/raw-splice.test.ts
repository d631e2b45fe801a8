import { describe, expect, it } from 'vitest';
import { FrameBoundary, serverFrame } from '../src/raw-splice.js';

/** A masked client frame (RFC 6455 §5.3): the mask bit and four key bytes after the length. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const server = serverFrame(opcode, payload);
  const headLength = server.length - payload.length;
  const head = Buffer.from(server.subarray(0, headLength));
  head[1] = head[1]! | 0x80;
  const key = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([head, key, masked]);
}

describe('FrameBoundary: the frame headers of a piped link', () => {
  const frames = [
    serverFrame(0x1, Buffer.from('{"type":"paired"}')),
    serverFrame(0x2, Buffer.alloc(200, 7)),
    serverFrame(0x2, Buffer.alloc(70_000, 9)),
    clientFrame(0x2, Buffer.alloc(130, 1)),
    serverFrame(0x9, Buffer.alloc(0)),
  ];
  const stream = Buffer.concat(frames);

  it.each([1, 2, 3, 7, 125, 4096, stream.length])(
    'in chunks of %i bytes: between frames exactly at their ends, never inside one',
    (size) => {
      const ends = new Set<number>();
      let at = 0;
      for (const frame of frames) ends.add((at += frame.length));
      const seen = new FrameBoundary();
      for (let i = 0; i < stream.length; i += size) {
        const end = Math.min(i + size, stream.length);
        seen.see(stream.subarray(i, end));
        expect(seen.between).toBe(ends.has(end));
      }
      expect(seen.closeSeen).toBe(false);
    },
  );

  it('notices a close frame, whole or cut anywhere', () => {
    const close = Buffer.concat([serverFrame(0x2, Buffer.alloc(300)), serverFrame(0x8, Buffer.from([0x0f, 0xa0]))]);
    for (let cut = 0; cut <= close.length; cut++) {
      const seen = new FrameBoundary();
      seen.see(close.subarray(0, cut));
      seen.see(close.subarray(cut));
      expect(seen.closeSeen).toBe(true);
      expect(seen.between).toBe(true);
    }
  });

  it('serverFrame writes the three length forms', () => {
    expect([...serverFrame(0x1, Buffer.alloc(125)).subarray(0, 2)]).toEqual([0x81, 125]);
    expect([...serverFrame(0x2, Buffer.alloc(126)).subarray(0, 4)]).toEqual([0x82, 126, 0, 126]);
    expect([...serverFrame(0x2, Buffer.alloc(65_536)).subarray(0, 10)]).toEqual([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
  });
});
