/** Acks (ack.ts, PROTOCOL.md §5.3): sealed under the receiver's data key on stream 2; copies and stale ones dropped. */
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeAead } from '../src/aead.node.js';
import { toHex } from '../src/bytes.js';
import { AckOpener, AckSealer } from '../src/ack.js';
import { ACK_STREAM } from '../src/streams.js';
import { PortunusError } from '../src/errors.js';
import { FrameSealer, parseFrameHeader } from '../src/frame.js';
import { HeldAead } from './held-aead.js';

const key = randomBytes(32);
const pair = () => ({ sealer: new AckSealer(nodeAead(key)), opener: new AckOpener(nodeAead(key)) });

describe('acks', () => {
  it('an ack is a frame on stream 2 whose plaintext is u64be(next)', () => {
    const frame = new AckSealer(nodeAead(new Uint8Array(32))).seal(0x1_0000_0005);
    expect(parseFrameHeader(frame)).toEqual({ final: false, streamId: ACK_STREAM, index: 0 });
    expect(frame.length).toBe(13 + 8 + 16);
    // Golden: all-zero key, stream 2, index 0, plaintext 00000001 00000005.
    expect(toHex(frame)).toBe('0000000002000000000000000094c82dcc97204000e80d762d9be9ebf51a12a4bc8a18d488');
  });

  it('the golden ack equals AES-256-GCM done by hand (node:crypto, not aead.node.ts)', () => {
    const header = Buffer.from('00000000020000000000000000', 'hex');
    const cipher = createCipheriv('aes-256-gcm', Buffer.alloc(32), header.subarray(1));
    cipher.setAAD(header);
    const ct = Buffer.concat([
      cipher.update(Buffer.from('0000000100000005', 'hex')),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    expect(Buffer.concat([header, ct]).toString('hex')).toBe(
      '0000000002000000000000000094c82dcc97204000e80d762d9be9ebf51a12a4bc8a18d488',
    );
  });

  it('opens acks in order and returns the acknowledged next index', () => {
    const { sealer, opener } = pair();
    expect(opener.open(sealer.seal(3))).toBe(3);
    expect(opener.open(sealer.seal(7))).toBe(7);
    expect(opener.next).toBe(7);
  });

  it('drops copies and stale acks unopened (a path may replay or delay them)', () => {
    const { sealer, opener } = pair();
    const a = sealer.seal(2);
    const b = sealer.seal(5);
    expect(opener.open(b)).toBe(5);
    expect(opener.open(a)).toBeUndefined();
    expect(opener.open(b)).toBeUndefined();
    // A later ack may skip ack indexes (the copies that carried them went another way).
    sealer.seal(6);
    expect(opener.open(sealer.seal(9))).toBe(9);
  });

  it('a forged ack fails with CORRUPT, and the stream stays failed', () => {
    const { sealer, opener } = pair();
    const frame = sealer.seal(4);
    frame[frame.length - 1]! ^= 1;
    expect(() => opener.open(frame)).toThrow(/bad tag/);
    expect(() => opener.open(sealer.seal(5))).toThrow(PortunusError);
  });

  it('a frame of another stream (or key) is not an ack', () => {
    const { opener } = pair();
    const data = new FrameSealer(nodeAead(key), 1).seal(new Uint8Array(8));
    expect(() => opener.open(data)).toThrow(/wrong stream/);
    const other = new AckOpener(nodeAead(key));
    expect(() => other.open(new AckSealer(nodeAead(randomBytes(32))).seal(1))).toThrow(/bad tag/);
  });

  it('an authentic ack going backwards is a PROTOCOL error', () => {
    const { sealer, opener } = pair();
    opener.open(sealer.seal(8));
    expect(() => opener.open(sealer.seal(7))).toThrow(expect.objectContaining({ code: 'PROTOCOL' }));
  });
});

describe('acks on an asynchronous AEAD', () => {
  it('two acks opening at once (two paths) that settle newest first: the older one is stale, not a step back', async () => {
    const sealer = new AckSealer(nodeAead(key));
    const older = sealer.seal(3);
    const newer = sealer.seal(7);
    const held = new HeldAead(nodeAead(key));
    const opener = new AckOpener(held);
    const opening = [opener.open(older), opener.open(newer)];
    held.releaseNewestFirst();
    expect(await Promise.all(opening)).toEqual([undefined, 7]);
    expect(opener.next).toBe(7);
  });

  it('acks sealed at once carry the order of the calls, whatever order they settle in', async () => {
    const held = new HeldAead(nodeAead(key));
    const sealer = new AckSealer(held);
    const sealing = [sealer.seal(1), sealer.seal(2)];
    held.releaseNewestFirst();
    const frames = await Promise.all(sealing);
    expect(frames.map((f) => (parseFrameHeader(f) as { index: number }).index)).toEqual([0, 1]);
    const opener = new AckOpener(nodeAead(key));
    expect(frames.map((f) => opener.open(f))).toEqual([1, 2]);
  });

  it('a forged ack rejects CORRUPT, and the stream stays failed', async () => {
    const frame = new AckSealer(nodeAead(key)).seal(4);
    frame[frame.length - 1]! ^= 1;
    const held = new HeldAead(nodeAead(key));
    const opener = new AckOpener(held);
    const opening = opener.open(frame);
    held.releaseNewestFirst();
    await expect(opening).rejects.toMatchObject({ code: 'CORRUPT' });
    expect(() => opener.open(new AckSealer(nodeAead(key)).seal(5))).toThrow(/bad tag/);
  });
});
