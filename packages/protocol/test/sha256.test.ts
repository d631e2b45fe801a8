/**
 * The two SHA-256 backends (sha256.ts): the same digests, whole or fed in parts, on the FIPS 180-2 examples and on
 * random data cut at random places — the receiver's check compares a digest from one with a digest from the other.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../src/bytes.js';
import { nodeSha256 } from '../src/index.node.js';
import type { Sha256Factory } from '../src/sha256.js';
import { nobleSha256 as nobleFromNobleEntry } from '../src/index.noble.js';

function digestOf(factory: Sha256Factory, parts: Uint8Array[]): string {
  const hash = factory();
  for (const part of parts) hash.update(part);
  return hash.digestHex();
}

describe.each<[string, Sha256Factory]>([
  ['nodeSha256', nodeSha256],
  ['nobleSha256', nobleFromNobleEntry],
])('%s', (_name, factory) => {
  it('gives the FIPS 180-2 digests', () => {
    expect(digestOf(factory, [utf8('abc')])).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(digestOf(factory, [])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const million = new Uint8Array(1_000_000).fill(0x61);
    expect(digestOf(factory, [million.subarray(0, 333_333), million.subarray(333_333)])).toBe(
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    );
  });

  it('gives the same digest however the data is cut', () => {
    const data = randomBytes(200_000);
    const cuts = [0, ...Array.from({ length: 7 }, () => randomInt(data.length)), data.length].sort((x, y) => x - y);
    const parts = cuts.slice(1).map((end, i) => data.subarray(cuts[i], end));
    expect(digestOf(factory, parts)).toBe(digestOf(nodeSha256, [data]));
  });

  it('copies a state: the copy digests the prefix, the original hashes on (a resume, PROTOCOL.md §4.12)', () => {
    const hash = factory();
    hash.update(utf8('ab'));
    const prefix = hash.copy();
    hash.update(utf8('c'));
    expect(prefix.digestHex()).toBe(digestOf(nodeSha256, [utf8('ab')]));
    expect(hash.digestHex()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
