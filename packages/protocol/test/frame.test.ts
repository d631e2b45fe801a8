/**
 * Encrypted frames (frame.ts, PROTOCOL.md §5.1) on node:crypto AES-256-GCM (aead.node.ts): the AEAD against a
 * published GCM vector and against WebCrypto, the frame layout against vectors/frames.json (made independently
 * with WebCrypto), and the STREAM rules — every tampered, reordered, replayed, dropped, spliced or truncated
 * frame fails with CORRUPT.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Aead } from '../src/aead.js';
import { nodeAead } from '../src/aead.node.js';
import { concatBytes, fromHex, toHex } from '../src/bytes.js';
import { PortunusError } from '../src/errors.js';
import {
  FLAG_FINAL,
  FrameSealer,
  HEADER_BYTES,
  MAX_FRAME_BYTES,
  MAX_FRAME_INDEX,
  MAX_FRAME_PLAINTEXT,
  TAG_BYTES,
  allocFramePlaintext,
  frameOverhead,
  openFrame,
  parseFrameHeader,
  sealFrame,
} from '../src/frame.js';
import { HeldAead } from './held-aead.js';
import { FrameOpener } from '../src/frame-opener.js';
import vectors from './vectors/frames.json' with { type: 'json' };

const KIB = 1024;
const SINGLE_BITS = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80];
const keyA = randomBytes(32);
const keyB = randomBytes(32);

function expectCorrupt(action: () => unknown, check: string): PortunusError {
  let thrown: unknown;
  try {
    action();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(PortunusError);
  const error = thrown as PortunusError;
  expect(error.code).toBe('CORRUPT');
  expect(error.message).toContain(check);
  return error;
}

/** A frame whose header is exactly `header` and whose tag is valid: proves a check happens after authentication. */
function authenticFrame(aead: Aead, header: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return concatBytes(header, aead.seal(header.subarray(1), header, plaintext));
}

function header(flags: number, streamId: number, indexHigh: number, indexLow: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, flags);
  view.setUint32(1, streamId);
  view.setUint32(5, indexHigh);
  view.setUint32(9, indexLow);
  return bytes;
}

function withByteFlipped(frame: Uint8Array, position: number, mask: number): Uint8Array {
  const copy = frame.slice();
  copy[position] = copy[position]! ^ mask;
  return copy;
}

/** Every position of a small frame; for a large one every header and tag byte, the body's ends and a sample. */
function flipPositions(length: number): number[] {
  if (length <= 256) return Array.from({ length }, (_, i) => i);
  const bodyEnd = length - TAG_BYTES;
  const picks = new Set<number>();
  for (let i = 0; i < HEADER_BYTES + 8; i++) picks.add(i);
  for (let i = bodyEnd - 8; i < length; i++) picks.add(i);
  while (picks.size < HEADER_BYTES + 8 + 8 + TAG_BYTES + 48) {
    picks.add(HEADER_BYTES + Math.floor(Math.random() * (bodyEnd - HEADER_BYTES)));
  }
  return [...picks];
}

function sealStream(key: Uint8Array, streamId: number, chunks: Uint8Array[]): Uint8Array[] {
  const sealer = new FrameSealer(nodeAead(key), streamId);
  return chunks.map((chunk, i) => sealer.seal(chunk, i === chunks.length - 1));
}

describe('AES-256-GCM (nodeAead)', () => {
  // McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Test Case 16: AES-256, 96-bit IV, 20-byte AAD.
  it('matches GCM test case 16', () => {
    const aead = nodeAead(fromHex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308'));
    const nonce = fromHex('cafebabefacedbaddecaf888');
    const aad = fromHex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
    const plaintext = fromHex(
      'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
        '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
    );
    const ciphertext =
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
      '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662';
    const sealed = ciphertext + '76fc6ece0f4e1768cddf8853bb2d551b';
    expect(toHex(aead.seal(nonce, aad, plaintext))).toBe(sealed);
    expect(toHex(aead.open(nonce, aad, fromHex(sealed))!)).toBe(toHex(plaintext));
  });

  it.each([0, 1, 15, 16, 17, 1000, 64 * KIB, MAX_FRAME_PLAINTEXT])(
    'gives the same bytes as WebCrypto AES-GCM for %i bytes, both ways',
    async (size) => {
      const key = randomBytes(32);
      const nonce = randomBytes(12);
      const aad = randomBytes(13);
      const plaintext = randomBytes(size);
      const subtleKey = await crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']);
      const params = { name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 };
      const fromWebCrypto = new Uint8Array(await crypto.subtle.encrypt(params, subtleKey, plaintext));
      const aead = nodeAead(key);
      const sealed = aead.seal(nonce, aad, plaintext);
      expect(sealed.length).toBe(size + TAG_BYTES);
      expect(Buffer.compare(sealed, fromWebCrypto)).toBe(0);
      expect(Buffer.compare(aead.sealWithPrefix!(nonce, aad, plaintext), concatBytes(aad, fromWebCrypto))).toBe(0);
      expect(Buffer.compare(aead.open(nonce, aad, fromWebCrypto)!, plaintext)).toBe(0);
      const fromNode = new Uint8Array(await crypto.subtle.decrypt(params, subtleKey, sealed));
      expect(Buffer.compare(fromNode, plaintext)).toBe(0);
    },
  );

  it('returns undefined, never throws, when authentication fails', () => {
    const aead = nodeAead(keyA);
    const nonce = new Uint8Array(12);
    const aad = new Uint8Array(13);
    const sealed = aead.seal(nonce, aad, randomBytes(100));
    expect(aead.open(nonce, aad, withByteFlipped(sealed, sealed.length - 1, 0x80))).toBeUndefined();
    expect(aead.open(nonce, withByteFlipped(aad, 0, 1), sealed)).toBeUndefined();
    expect(aead.open(nonce, aad, sealed.subarray(0, TAG_BYTES - 1))).toBeUndefined();
    expect(nodeAead(keyB).open(nonce, aad, sealed)).toBeUndefined();
  });

  it('returns plain Uint8Arrays over memory of their own (no Buffer, no shared pool)', () => {
    const aead = nodeAead(keyA);
    const nonce = new Uint8Array(12);
    const sealed = aead.sealWithPrefix!(nonce, new Uint8Array(13), randomBytes(10));
    expect(Object.getPrototypeOf(sealed)).toBe(Uint8Array.prototype);
    expect(sealed.buffer.byteLength).toBe(sealed.length);
    const opened = aead.open(nonce, new Uint8Array(13), sealed.subarray(13))!;
    expect(Object.getPrototypeOf(opened)).toBe(Uint8Array.prototype);
  });

  it('refuses keys that are not 32 bytes and nonces that are not 12 bytes', () => {
    expect(() => nodeAead(new Uint8Array(16))).toThrow(PortunusError);
    expect(() => nodeAead(keyA).seal(new Uint8Array(16), new Uint8Array(0), new Uint8Array(1))).toThrow(PortunusError);
  });
});

describe('frames.json vectors', () => {
  it.each(vectors.vectors)('$description', (vector) => {
    const aead = nodeAead(fromHex(vector.key));
    const plaintext = fromHex(vector.plaintext);
    const frame = sealFrame(aead, vector.streamId, vector.index, vector.final, plaintext);
    expect(toHex(frame)).toBe(vector.frame);
    // The portable path (an Aead without sealWithPrefix, as a browser backend may be) gives the same bytes.
    const portable: Aead = { seal: (n, a, p) => aead.seal(n, a, p), open: (n, a, s) => aead.open(n, a, s) };
    expect(toHex(sealFrame(portable, vector.streamId, vector.index, vector.final, plaintext))).toBe(vector.frame);
    const opened = openFrame(aead, fromHex(vector.frame));
    expect(opened).toEqual({ final: vector.final, streamId: vector.streamId, index: vector.index, plaintext });
    const opener = new FrameOpener(portable, vector.streamId, vector.index);
    expect(toHex(opener.open(fromHex(vector.frame)).plaintext)).toBe(vector.plaintext);
    expect(opener.done).toBe(vector.final);
  });
});

describe('sealOwned: the frame built in the memory of its plaintext', () => {
  it.each(vectors.vectors)('gives the vector bytes in place: $description', (vector) => {
    const aead = nodeAead(fromHex(vector.key));
    const plaintext = allocFramePlaintext(fromHex(vector.plaintext).length);
    plaintext.set(fromHex(vector.plaintext));
    const frame = new FrameSealer(aead, vector.streamId, vector.index).sealOwned(plaintext, vector.final);
    expect(toHex(frame)).toBe(vector.frame);
    // No new frame buffer: the header and the tag went into the room around the plaintext.
    expect(frame.buffer).toBe(plaintext.buffer);
  });

  it.each([0, 1, 4096, MAX_FRAME_PLAINTEXT])('matches seal() for %i bytes, and opens', (size) => {
    const data = randomBytes(size);
    const owned = allocFramePlaintext(size);
    owned.set(data);
    const inPlace = new FrameSealer(nodeAead(keyA), 1).sealOwned(owned, true);
    const copied = new FrameSealer(nodeAead(keyA), 1).seal(data, true);
    expect(Buffer.compare(inPlace, copied)).toBe(0);
    expect(Buffer.compare(new FrameOpener(nodeAead(keyA), 1).open(inPlace).plaintext, data)).toBe(0);
  });

  it('leaves memory it does not own alone: a slice of a larger buffer is copied as seal() does', () => {
    const shared = randomBytes(HEADER_BYTES + 64 + TAG_BYTES + 10);
    const before = Buffer.from(shared);
    const plaintext = shared.subarray(HEADER_BYTES, HEADER_BYTES + 64);
    const frame = new FrameSealer(nodeAead(keyA), 1).sealOwned(plaintext);
    expect(frame.buffer).not.toBe(shared.buffer);
    expect(Buffer.compare(shared, before)).toBe(0);
    // An Aead without the fast path (a browser backend) seals the same bytes.
    const aead = nodeAead(keyA);
    const portable: Aead = { seal: (n, a, p) => aead.seal(n, a, p), open: (n, a, s) => aead.open(n, a, s) };
    const owned = allocFramePlaintext(64);
    owned.set(before.subarray(HEADER_BYTES, HEADER_BYTES + 64));
    expect(Buffer.compare(new FrameSealer(portable, 1).sealOwned(owned), frame)).toBe(0);
  });
});

describe('frame layout', () => {
  it('has the documented sizes', () => {
    expect([HEADER_BYTES, TAG_BYTES, frameOverhead, FLAG_FINAL]).toEqual([13, 16, 29, 1]);
    expect(MAX_FRAME_PLAINTEXT).toBe(1024 * 1024);
    expect(MAX_FRAME_BYTES).toBe(1024 * 1024 + 29);
    expect(MAX_FRAME_INDEX).toBe(2 ** 53 - 1);
  });

  it.each([0, 1, 64 * KIB, MAX_FRAME_PLAINTEXT])('round-trips %i bytes with the header in the clear', (size) => {
    const plaintext = randomBytes(size);
    const frame = sealFrame(nodeAead(keyA), 9, 2 ** 40 + 3, true, plaintext);
    expect(frame.length).toBe(size + frameOverhead);
    expect(toHex(frame.subarray(0, HEADER_BYTES))).toBe('01' + '00000009' + '0000010000000003');
    expect(parseFrameHeader(frame)).toEqual({ final: true, streamId: 9, index: 2 ** 40 + 3 });
    expect(Buffer.compare(openFrame(nodeAead(keyA), frame).plaintext, plaintext)).toBe(0);
  });

  it('refuses to seal more than MAX_FRAME_PLAINTEXT, or an index or stream id outside the layout', () => {
    const aead = nodeAead(keyA);
    expectCorrupt(() => sealFrame(aead, 1, 0, false, new Uint8Array(MAX_FRAME_PLAINTEXT + 1)), 'too large');
    expectCorrupt(() => sealFrame(aead, 1, 2 ** 53, false, new Uint8Array(1)), 'bad index');
    expectCorrupt(() => sealFrame(aead, 1, -1, false, new Uint8Array(1)), 'bad index');
    expectCorrupt(() => sealFrame(aead, 2 ** 32, 0, false, new Uint8Array(1)), 'bad stream id');
    expectCorrupt(() => sealFrame(aead, 0.5, 0, false, new Uint8Array(1)), 'bad stream id');
  });

  it('rejects short, oversize and non-byte frames, and indexes of 2^53 or more, before decrypting', () => {
    const aead = nodeAead(keyA);
    expectCorrupt(() => openFrame(aead, new Uint8Array(0)), 'short frame');
    expectCorrupt(() => openFrame(aead, new Uint8Array(frameOverhead - 1)), 'short frame');
    expectCorrupt(() => openFrame(aead, new Uint8Array(MAX_FRAME_BYTES + 1)), 'too large');
    expectCorrupt(() => openFrame(aead, 'frame' as unknown as Uint8Array), 'short frame');
    const beyond = authenticFrame(aead, header(0, 1, 0x0020_0000, 0), new Uint8Array(4));
    expectCorrupt(() => openFrame(aead, beyond), 'bad index');
    const error = parseFrameHeader(beyond);
    expect(error).toBeInstanceOf(PortunusError);
  });

  const unknownFlags = [0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff];
  it.each(unknownFlags)('rejects flags byte %i (unknown bits set) even when authentic', (flags) => {
    const aead = nodeAead(keyA);
    const frame = authenticFrame(aead, header(flags, 1, 0, 0), randomBytes(8));
    expect(aead.open(frame.subarray(1, 13), frame.subarray(0, 13), frame.subarray(13))).toBeDefined();
    expectCorrupt(() => openFrame(aead, frame), 'bad flags');
    expectCorrupt(() => new FrameOpener(aead, 1).open(frame), 'bad flags');
  });
});

describe('flipping any single byte of a frame fails with CORRUPT', () => {
  it.each([0, 1, 64 * KIB, MAX_FRAME_PLAINTEXT])('%i-byte plaintext', (size) => {
    const aead = nodeAead(keyA);
    const frame = new FrameSealer(aead, 3, 7).seal(randomBytes(size), true);
    expect(new FrameOpener(aead, 3, 7).open(frame).final).toBe(true);
    const positions = flipPositions(frame.length);
    let flips = 0;
    for (const position of positions) {
      // Every single-bit flip of the header and of small frames (a flag or index bit alone must not slip through),
      // one random flip elsewhere.
      const everyBit = position < HEADER_BYTES || frame.length <= 256;
      const masks = everyBit ? SINGLE_BITS : [1 + Math.floor(Math.random() * 255)];
      for (const mask of masks) {
        const tampered = withByteFlipped(frame, position, mask);
        // Both the stateless open (pure cryptography: the header is AAD and nonce) and the stream opener refuse it.
        expectCorrupt(() => openFrame(aead, tampered), '');
        expectCorrupt(() => new FrameOpener(aead, 3, 7).open(tampered), '');
        flips += 1;
      }
    }
    expect(positions.length).toBeGreaterThanOrEqual(Math.min(frame.length, HEADER_BYTES + TAG_BYTES + 64));
    expect(flips).toBeGreaterThanOrEqual(HEADER_BYTES * 8);
  });
});

describe('stream rules', () => {
  const chunks = [randomBytes(100), randomBytes(0), randomBytes(5000), randomBytes(1)];

  it('opens a stream in order and is done only after the final frame', () => {
    const frames = sealStream(keyA, 1, chunks);
    const opener = new FrameOpener(nodeAead(keyA), 1);
    frames.forEach((frame, i) => {
      expect(opener.done).toBe(false);
      const opened = opener.open(frame);
      expect(opened.index).toBe(i);
      expect(opened.final).toBe(i === frames.length - 1);
      expect(Buffer.compare(opened.plaintext, chunks[i]!)).toBe(0);
    });
    expect(opener.done).toBe(true);
    expect(opener.nextIndex).toBe(frames.length);
  });

  it('detects a dropped final frame (and a truncated tail): the opener is not done', () => {
    const frames = sealStream(keyA, 1, chunks);
    for (const kept of [frames.length - 1, 1]) {
      const opener = new FrameOpener(nodeAead(keyA), 1);
      for (const frame of frames.slice(0, kept)) opener.open(frame);
      expect(opener.done).toBe(false);
    }
  });

  it('rejects reordered, replayed and skipped frames', () => {
    const frames = sealStream(keyA, 1, chunks);
    const aead = nodeAead(keyA);
    expectCorrupt(() => new FrameOpener(aead, 1).open(frames[1]!), 'unexpected index: expected 0, got 1');
    const replay = new FrameOpener(aead, 1);
    replay.open(frames[0]!);
    expectCorrupt(() => replay.open(frames[0]!), 'unexpected index: expected 1, got 0');
    const skip = new FrameOpener(aead, 1);
    skip.open(frames[0]!);
    expectCorrupt(() => skip.open(frames[2]!), 'unexpected index: expected 1, got 2');
  });

  it("rejects frames sealed with the other direction's key", () => {
    const frames = sealStream(keyB, 1, chunks);
    expectCorrupt(() => new FrameOpener(nodeAead(keyA), 1).open(frames[0]!), 'bad tag');
  });

  it('rejects a frame of another stream, also when its header is rewritten to claim this one', () => {
    const aead = nodeAead(keyA);
    const other = new FrameSealer(aead, 2).seal(randomBytes(64));
    expectCorrupt(() => new FrameOpener(aead, 1).open(other), 'wrong stream: expected 1, got 2');
    const spliced = other.slice();
    spliced.set(header(0, 1, 0, 0).subarray(1, 5), 1);
    expectCorrupt(() => new FrameOpener(aead, 1).open(spliced), 'bad tag');
  });

  it('rejects anything after the final frame, authentic or not', () => {
    const aead = nodeAead(keyA);
    const opener = new FrameOpener(aead, 1);
    opener.open(sealFrame(aead, 1, 0, true, randomBytes(10)));
    expectCorrupt(() => opener.open(sealFrame(aead, 1, 1, false, randomBytes(10))), 'after final');
    const sealer = new FrameSealer(aead, 1);
    sealer.seal(randomBytes(1), true);
    expect(sealer.done).toBe(true);
    expectCorrupt(() => sealer.seal(randomBytes(1)), 'after final');
  });

  it('rejects truncated frames', () => {
    const frame = new FrameSealer(nodeAead(keyA), 1).seal(randomBytes(300));
    for (const length of [frame.length - 1, frame.length - TAG_BYTES, frameOverhead]) {
      expectCorrupt(() => new FrameOpener(nodeAead(keyA), 1).open(frame.subarray(0, length)), 'bad tag');
    }
    expectCorrupt(() => new FrameOpener(nodeAead(keyA), 1).open(frame.subarray(0, frameOverhead - 1)), 'short frame');
  });

  it('ends the stream at the first failure: the correct next frame is refused too', () => {
    const frames = sealStream(keyA, 1, chunks);
    const opener = new FrameOpener(nodeAead(keyA), 1);
    expectCorrupt(() => opener.open(withByteFlipped(frames[0]!, 20, 1)), 'bad tag');
    expectCorrupt(() => opener.open(frames[0]!), 'already failed: bad tag');
    expect(opener.nextIndex).toBe(0);
  });

  it('resumes from startIndex on both sides', () => {
    const aead = nodeAead(keyA);
    const sealer = new FrameSealer(aead, 4, 5);
    const frame = sealer.seal(randomBytes(10));
    expect(parseFrameHeader(frame)).toEqual({ final: false, streamId: 4, index: 5 });
    expect(sealer.nextIndex).toBe(6);
    expect(new FrameOpener(aead, 4, 5).open(frame).index).toBe(5);
    expectCorrupt(() => new FrameOpener(aead, 4).open(frame), 'unexpected index: expected 0, got 5');
  });

  it('uses an index only for a frame it produced, and stops at 2^53 - 1', () => {
    const aead = nodeAead(keyA);
    const sealer = new FrameSealer(aead, 1);
    expectCorrupt(() => sealer.seal(new Uint8Array(MAX_FRAME_PLAINTEXT + 1)), 'too large');
    expect(sealer.nextIndex).toBe(0);
    const last = new FrameSealer(aead, 1, MAX_FRAME_INDEX);
    expect(new FrameOpener(aead, 1, MAX_FRAME_INDEX).open(last.seal(randomBytes(3))).index).toBe(MAX_FRAME_INDEX);
    expectCorrupt(() => last.seal(randomBytes(3)), 'bad index');
  });

  it('refuses stream ids and start indexes outside the layout', () => {
    const aead = nodeAead(keyA);
    for (const [stream, start] of [
      [-1, 0],
      [2 ** 32, 0],
      [1, -1],
      [1, 2 ** 53],
      [1, 0.5],
    ] as const) {
      expectCorrupt(() => new FrameSealer(aead, stream, start), 'bad');
      expectCorrupt(() => new FrameOpener(aead, stream, start), 'bad');
    }
  });
});

describe('on an asynchronous AEAD (WebCrypto in a page)', () => {
  it('a synchronous Aead still gives plain frames, not promises', () => {
    const sealer = new FrameSealer(nodeAead(keyA), 1);
    const frame = sealer.seal(randomBytes(10), true);
    expect(frame).toBeInstanceOf(Uint8Array);
    expect(new FrameOpener(nodeAead(keyA), 1).open(frame)).not.toBeInstanceOf(Promise);
  });

  it('frames carry the order of the seal calls, whatever order the seals settle in', async () => {
    const held = new HeldAead(nodeAead(keyA));
    const sealer = new FrameSealer(held, 1);
    const chunks = [randomBytes(100), randomBytes(100), randomBytes(100)];
    const pending = chunks.map((chunk, i) => sealer.seal(chunk, i === chunks.length - 1));
    expect(sealer.nextIndex).toBe(3);
    expect(sealer.done).toBe(true);
    const settled: number[] = [];
    pending.forEach((p, i) => void Promise.resolve(p).then(() => settled.push(i)));
    held.releaseNewestFirst();
    const frames = await Promise.all(pending);
    expect(settled).toEqual([2, 1, 0]);
    expect(frames.map((f) => (parseFrameHeader(f) as { index: number }).index)).toEqual([0, 1, 2]);
    const opener = new FrameOpener(nodeAead(keyA), 1);
    expect(frames.map((f) => Buffer.from(opener.open(f).plaintext))).toEqual(chunks);
    expect(opener.done).toBe(true);
  });

  it('opens one frame at a time: a second open while one is pending is refused (INTERNAL), then order holds', async () => {
    const frames = sealStream(keyA, 1, [randomBytes(10), randomBytes(10)]);
    const held = new HeldAead(nodeAead(keyA));
    const opener = new FrameOpener(held, 1);
    const first = opener.open(frames[0]!);
    expect(() => opener.open(frames[1]!)).toThrow(/before the last one opened/);
    expect(opener.nextIndex).toBe(0);
    held.releaseNewestFirst();
    expect((await first).index).toBe(0);
    const second = opener.open(frames[1]!);
    held.releaseNewestFirst();
    expect(await second).toMatchObject({ index: 1, final: true });
    expect(opener.done).toBe(true);
  });

  it('a frame failing its tag rejects CORRUPT and ends the stream', async () => {
    const frames = sealStream(keyA, 1, [randomBytes(10), randomBytes(10)]);
    const held = new HeldAead(nodeAead(keyA));
    const opener = new FrameOpener(held, 1);
    const bad = opener.open(withByteFlipped(frames[0]!, frames[0]!.length - 1, 1));
    held.releaseNewestFirst();
    await expect(bad).rejects.toMatchObject({ code: 'CORRUPT', message: expect.stringMatching(/bad tag/) });
    expect(() => opener.open(frames[0]!)).toThrow(/already failed/);
  });
});
