/**
 * The page's AEAD on WebCrypto (aead.webcrypto.ts) cross-tested against node:crypto (aead.node.ts), as
 * aead.noble.test.ts does for noble: the same bytes on every frame vector and on random inputs (RFC 5116
 * AEAD_AES_256_GCM both), undefined rather than an error on every tampered input, INTERNAL on a caller's bug; the key
 * imported once per factory and not extractable; and pageDataAead picking noble where `crypto.subtle` is missing.
 * Node's `crypto.subtle` is the WebCrypto API, so this runs in vitest; browser.test.ts runs the vectors in Chromium.
 */
import { randomBytes, randomInt, type webcrypto } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DataAead } from '../src/aead.js';
import { nobleAead } from '../src/aead.noble.js';
import { nodeAead } from '../src/aead.node.js';
import { pageDataAead, webCryptoAead } from '../src/aead.webcrypto.js';
import { fromHex, toHex } from '../src/bytes.js';
import { PortunusError } from '../src/errors.js';
import { FrameOpener } from '../src/frame-opener.js';
import { FrameSealer, MAX_FRAME_PLAINTEXT, TAG_BYTES, openFrame, sealFrame } from '../src/frame.js';
import vectors from './vectors/frames.json' with { type: 'json' };

const KIB = 1024;
const EDGE_SIZES = [0, 1, 15, 16, 17, 255, 4097, 64 * KIB, MAX_FRAME_PLAINTEXT - 1, MAX_FRAME_PLAINTEXT];
const RANDOM_SIZES = Array.from({ length: 8 }, () => randomInt(0, MAX_FRAME_PLAINTEXT + 1));
const AAD_SIZES = [0, 1, 13, 16, 17, 100];

function same(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.compare(a, b) === 0;
}

function flipped(bytes: Uint8Array, position: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[position] = copy[position]! ^ 0x01;
  return copy;
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('frames.json vectors on WebCrypto', () => {
  it.each(vectors.vectors)('$description', async (vector) => {
    const { streamId, index, final } = vector;
    const plaintext = fromHex(vector.plaintext);
    const web = webCryptoAead(fromHex(vector.key));
    expect(toHex(await sealFrame(web, streamId, index, final, plaintext))).toBe(vector.frame);
    expect(toHex(await new FrameSealer(web, streamId, index).seal(plaintext, final))).toBe(vector.frame);
    expect(await openFrame(web, fromHex(vector.frame))).toEqual({ final, streamId, index, plaintext });
    const stream = new FrameOpener(web, streamId, index);
    expect(toHex((await stream.open(fromHex(vector.frame))).plaintext)).toBe(vector.plaintext);
    expect(stream.done).toBe(final);
  });
});

describe('random keys, nonces, AAD and plaintexts: the same bytes as node:crypto, both ways', () => {
  it.each([...EDGE_SIZES, ...RANDOM_SIZES])('%i-byte plaintext', async (size) => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const aad = randomBytes(AAD_SIZES[size % AAD_SIZES.length]!);
    const plaintext = randomBytes(size);
    const inputs = `key ${toHex(key)} nonce ${toHex(nonce)} aad ${toHex(aad)}`;
    const web = webCryptoAead(key);
    const node = nodeAead(key);
    const sealedByWeb = await web.seal(nonce, aad, plaintext);
    const sealedByNode = node.seal(nonce, aad, plaintext);
    expect(sealedByWeb.length, inputs).toBe(size + TAG_BYTES);
    expect(same(sealedByWeb, sealedByNode), inputs).toBe(true);
    expect(same(node.open(nonce, aad, sealedByWeb), plaintext), inputs).toBe(true);
    expect(same(await web.open(nonce, aad, sealedByNode), plaintext), inputs).toBe(true);
  });
});

describe('tampering: WebCrypto refuses, with undefined rather than an error', () => {
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const aad = randomBytes(13);
  const plaintext = randomBytes(1000);
  const sealed = nodeAead(key).seal(nonce, aad, plaintext);
  const bodyEnd = sealed.length - TAG_BYTES;
  const cases: [string, Uint8Array, Uint8Array, Uint8Array, Uint8Array][] = [
    ['a flipped tag bit', key, nonce, aad, flipped(sealed, sealed.length - 1)],
    ['a flipped ciphertext bit', key, nonce, aad, flipped(sealed, 0)],
    ['a flipped AAD bit', key, nonce, flipped(aad, 12), sealed],
    ['a flipped nonce bit', key, flipped(nonce, 0), aad, sealed],
    ['another key', randomBytes(32), nonce, aad, sealed],
    ['the ciphertext cut by one byte', key, nonce, aad, sealed.subarray(0, sealed.length - 1)],
    ['the tag alone', key, nonce, aad, sealed.subarray(bodyEnd)],
    ['shorter than a tag', key, nonce, aad, sealed.subarray(0, TAG_BYTES - 1)],
    ['empty', key, nonce, aad, new Uint8Array(0)],
  ];

  it.each(cases)('%s', async (_name, k, n, a, s) => {
    await expect(webCryptoAead(k).open(n, a, s)).resolves.toBeUndefined();
    // The untampered input opens, so the refusal above is about the tampering alone.
    expect(same(await webCryptoAead(key).open(nonce, aad, sealed), plaintext)).toBe(true);
  });

  it('a tampered frame fails its stream with CORRUPT, and the stream stays failed', async () => {
    const sealer = new FrameSealer(nodeAead(key), 1);
    const frames = [sealer.seal(randomBytes(100)), sealer.seal(randomBytes(100), true)];
    const opener = new FrameOpener(webCryptoAead(key), 1);
    await expect(opener.open(flipped(frames[0]!, 20))).rejects.toMatchObject({
      code: 'CORRUPT',
      message: expect.stringMatching(/bad tag/),
    });
    expect(() => opener.open(frames[0]!)).toThrow(/already failed/);
  });
});

describe('caller bugs are INTERNAL errors, as in the other backends', () => {
  it.each([0, 16, 31, 33])('a %i-byte key (thrown at once)', (length) => {
    expect(() => webCryptoAead(new Uint8Array(length))).toThrow(PortunusError);
    expect(() => webCryptoAead(new Uint8Array(length))).toThrow(/32-byte key/);
  });

  it.each([0, 8, 11, 13, 16])('a %i-byte nonce, to seal or to open (rejected)', async (length) => {
    const aead: DataAead = webCryptoAead(new Uint8Array(32));
    const nonce = new Uint8Array(length);
    for (const result of [
      aead.seal(nonce, new Uint8Array(0), new Uint8Array(1)),
      aead.open(nonce, new Uint8Array(0), new Uint8Array(TAG_BYTES + 1)),
    ]) {
      await expect(result).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/12 bytes/) });
    }
  });
});

describe('the key', () => {
  it('is imported once per factory call, not per frame, as a key no script can read back', async () => {
    const importKey = vi.spyOn(crypto.subtle, 'importKey');
    const key = randomBytes(32);
    const sealer = new FrameSealer(webCryptoAead(key), 1);
    const opener = new FrameOpener(nodeAead(key), 1);
    for (let i = 0; i < 3; i++) expect((await opener.open(await sealer.seal(randomBytes(64)))).index).toBe(i);
    expect(importKey).toHaveBeenCalledTimes(1);
    expect(importKey.mock.calls[0]!.slice(2)).toEqual([{ name: 'AES-GCM' }, false, ['encrypt', 'decrypt']]);
    const imported = (await importKey.mock.results[0]!.value) as webcrypto.CryptoKey;
    expect(imported.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', imported)).rejects.toThrow();
  });

  it('is copied at once: wiping the caller key right after the factory returns changes nothing', async () => {
    const key = randomBytes(32);
    const expected = nodeAead(key).seal(new Uint8Array(12), new Uint8Array(0), new Uint8Array(32));
    const aead = webCryptoAead(key);
    key.fill(0);
    expect(same(await aead.seal(new Uint8Array(12), new Uint8Array(0), new Uint8Array(32)), expected)).toBe(true);
  });
});

describe('pageDataAead', () => {
  it('picks WebCrypto where crypto.subtle exists', () => {
    expect(pageDataAead()).toEqual({ backend: 'webcrypto', aead: webCryptoAead });
  });

  it('picks noble where crypto.subtle is missing (a page that is not a secure context), with the same bytes', () => {
    vi.stubGlobal('crypto', { getRandomValues: (bytes: Uint8Array) => bytes });
    const picked = pageDataAead();
    expect(picked).toEqual({ backend: 'noble', aead: nobleAead });
    expect(() => webCryptoAead(new Uint8Array(32))).toThrow(/crypto\.subtle\) is missing/);
    const key = randomBytes(32);
    const frame = sealFrame(nodeAead(key), 1, 0, true, randomBytes(100));
    expect(openFrame(picked.aead(key) as ReturnType<typeof nobleAead>, frame)).toEqual(openFrame(nodeAead(key), frame));
  });
});
