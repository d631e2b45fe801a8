/**
 * The browser AEAD (aead.noble.ts, @noble/ciphers) cross-tested against the Node one (aead.node.ts, node:crypto),
 * as noble-ciphers' own test/crosstest.test.ts does: same bytes on every frame vector and on random inputs of every
 * size a frame can carry, the same refusals on tampered input, the same INTERNAL errors on a caller's bug.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Aead, AeadFactory } from '../src/aead.js';
import { nobleAead } from '../src/aead.noble.js';
import { nodeAead } from '../src/aead.node.js';
import { fromHex, toHex } from '../src/bytes.js';
import { PortunusError } from '../src/errors.js';
import { FrameOpener } from '../src/frame-opener.js';
import { FrameSealer, MAX_FRAME_PLAINTEXT, TAG_BYTES, openFrame, sealFrame } from '../src/frame.js';
import vectors from './vectors/frames.json' with { type: 'json' };

const KIB = 1024;
const BACKENDS: [string, AeadFactory][] = [
  ['nobleAead', nobleAead],
  ['nodeAead', nodeAead],
];
/** Around each AES block and GHASH boundary, the frame header's 13 bytes, and up to the largest frame plaintext. */
const EDGE_SIZES = [
  0,
  1,
  12,
  13,
  15,
  16,
  17,
  31,
  32,
  33,
  63,
  64,
  65,
  255,
  256,
  257,
  4095,
  4096,
  4097,
  64 * KIB - 1,
  64 * KIB,
  64 * KIB + 1,
  MAX_FRAME_PLAINTEXT - 1,
  MAX_FRAME_PLAINTEXT,
];
const RANDOM_SIZES = Array.from({ length: 12 }, () => randomInt(0, MAX_FRAME_PLAINTEXT + 1));
const AAD_SIZES = [0, 1, 13, 16, 17, 100];

function same(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.compare(a, b) === 0;
}

function flipped(bytes: Uint8Array, position: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[position] = copy[position]! ^ 0x01;
  return copy;
}

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('frames.json vectors, sealed and opened by both backends', () => {
  it.each(vectors.vectors)('$description', (vector) => {
    const plaintext = fromHex(vector.plaintext);
    const aeads = BACKENDS.map(([, factory]) => factory(fromHex(vector.key)));
    for (const aead of aeads) {
      expect(toHex(sealFrame(aead, vector.streamId, vector.index, vector.final, plaintext))).toBe(vector.frame);
      const sealed = new FrameSealer(aead, vector.streamId, vector.index).seal(plaintext, vector.final);
      expect(toHex(sealed)).toBe(vector.frame);
      for (const opener of aeads) {
        const { streamId, index, final } = vector;
        expect(openFrame(opener, sealed)).toEqual({ final, streamId, index, plaintext });
        const stream = new FrameOpener(opener, vector.streamId, vector.index);
        expect(toHex(stream.open(fromHex(vector.frame)).plaintext)).toBe(vector.plaintext);
        expect(stream.done).toBe(vector.final);
      }
    }
  });
});

describe('random keys, nonces, AAD and plaintexts: identical bytes both ways', () => {
  it.each([...EDGE_SIZES, ...RANDOM_SIZES])('%i-byte plaintext', (size) => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const aad = randomBytes(AAD_SIZES[size % AAD_SIZES.length]!);
    const plaintext = randomBytes(size);
    const inputs = `key ${toHex(key)} nonce ${toHex(nonce)} aad ${toHex(aad)}`;
    const noble = nobleAead(key);
    const node = nodeAead(key);
    const sealedByNoble = noble.seal(nonce, aad, plaintext);
    const sealedByNode = node.seal(nonce, aad, plaintext);
    expect(sealedByNoble.length, inputs).toBe(size + TAG_BYTES);
    expect(same(sealedByNoble, sealedByNode), inputs).toBe(true);
    expect(same(node.open(nonce, aad, sealedByNoble), plaintext), inputs).toBe(true);
    expect(same(noble.open(nonce, aad, sealedByNode), plaintext), inputs).toBe(true);
  });
});

describe('tampering: both backends refuse, and return undefined rather than throw', () => {
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const aad = randomBytes(13);
  const plaintext = randomBytes(1000);
  const sealed = nodeAead(key).seal(nonce, aad, plaintext);
  const bodyEnd = sealed.length - TAG_BYTES;
  const cases: [string, Uint8Array, Uint8Array, Uint8Array, Uint8Array][] = [
    ['a flipped tag bit', key, nonce, aad, flipped(sealed, sealed.length - 1)],
    ['the first tag byte flipped', key, nonce, aad, flipped(sealed, bodyEnd)],
    ['a flipped ciphertext bit', key, nonce, aad, flipped(sealed, 0)],
    ['a flipped bit at the end of the ciphertext', key, nonce, aad, flipped(sealed, bodyEnd - 1)],
    ['a flipped AAD bit', key, nonce, flipped(aad, 12), sealed],
    ['no AAD at all', key, nonce, new Uint8Array(0), sealed],
    ['a flipped nonce bit', key, flipped(nonce, 0), aad, sealed],
    ['another key', randomBytes(32), nonce, aad, sealed],
    ['the ciphertext cut by one byte', key, nonce, aad, sealed.subarray(0, sealed.length - 1)],
    ['the tag alone', key, nonce, aad, sealed.subarray(bodyEnd)],
    ['shorter than a tag', key, nonce, aad, sealed.subarray(0, TAG_BYTES - 1)],
    ['empty', key, nonce, aad, new Uint8Array(0)],
  ];

  it.each(cases)('%s', (_name, k, n, a, s) => {
    for (const [, factory] of BACKENDS) expect(factory(k).open(n, a, s)).toBeUndefined();
    // The untampered input opens, so the refusal above is about the tampering alone.
    for (const [, factory] of BACKENDS) expect(same(factory(key).open(nonce, aad, sealed), plaintext)).toBe(true);
  });
});

describe('caller bugs are INTERNAL errors, in both backends alike', () => {
  it.each([0, 16, 24, 31, 33, 64])('a %i-byte key', (length) => {
    for (const [name, factory] of BACKENDS) {
      const error = thrown(() => factory(new Uint8Array(length)));
      expect(error, name).toBeInstanceOf(PortunusError);
      expect((error as PortunusError).code, name).toBe('INTERNAL');
    }
  });

  it('a key that is not a Uint8Array', () => {
    for (const [name, factory] of BACKENDS) {
      const error = thrown(() => factory(toHex(new Uint8Array(32)) as unknown as Uint8Array));
      expect((error as PortunusError).code, name).toBe('INTERNAL');
    }
  });

  it.each([0, 8, 11, 13, 16])('a %i-byte nonce, to seal or to open', (length) => {
    for (const [name, factory] of BACKENDS) {
      const aead: Aead = factory(new Uint8Array(32));
      const nonce = new Uint8Array(length);
      for (const action of [
        () => aead.seal(nonce, new Uint8Array(0), new Uint8Array(1)),
        () => aead.open(nonce, new Uint8Array(0), new Uint8Array(TAG_BYTES + 1)),
      ]) {
        const error = thrown(action);
        expect(error, name).toBeInstanceOf(PortunusError);
        expect((error as PortunusError).code, name).toBe('INTERNAL');
      }
    }
  });
});

describe('nobleAead on its own', () => {
  // McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Test Case 16: AES-256, 96-bit IV, 20-byte AAD.
  it('matches GCM test case 16', () => {
    const aead = nobleAead(fromHex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308'));
    const nonce = fromHex('cafebabefacedbaddecaf888');
    const aad = fromHex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
    const plaintext = fromHex(
      'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
        '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
    );
    const sealed =
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
      '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' +
      '76fc6ece0f4e1768cddf8853bb2d551b';
    expect(toHex(aead.seal(nonce, aad, plaintext))).toBe(sealed);
    expect(toHex(aead.open(nonce, aad, fromHex(sealed))!)).toBe(toHex(plaintext));
  });

  it('keeps its own copy of the key: wiping the caller key afterwards changes nothing', () => {
    const key = randomBytes(32);
    const expected = nodeAead(key).seal(new Uint8Array(12), new Uint8Array(0), new Uint8Array(32));
    const aead = nobleAead(key);
    key.fill(0);
    expect(same(aead.seal(new Uint8Array(12), new Uint8Array(0), new Uint8Array(32)), expected)).toBe(true);
  });

  it('seals the same input twice under one key (each call is a fresh GCM instance)', () => {
    const aead = nobleAead(randomBytes(32));
    const nonce = randomBytes(12);
    const first = aead.seal(nonce, new Uint8Array(0), Uint8Array.of(1, 2, 3));
    expect(same(aead.seal(nonce, new Uint8Array(0), Uint8Array.of(1, 2, 3)), first)).toBe(true);
  });

  it('opens a frame body at its unaligned offset (byte 13 of the frame) and leaves the frame as it was', () => {
    const key = randomBytes(32);
    const plaintext = randomBytes(4097);
    const frame = sealFrame(nodeAead(key), 1, 0, true, plaintext);
    const before = frame.slice();
    expect(same(openFrame(nobleAead(key), frame).plaintext, plaintext)).toBe(true);
    expect(same(frame, before)).toBe(true);
  });
});
