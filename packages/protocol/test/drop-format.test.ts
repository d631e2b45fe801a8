/**
 * Drops (PROTOCOL.md §11.1, §11.2): codes, the derived id and key, and the stored format, driven by vectors/drop.json.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { nodeAead } from '../src/index.node.js';
import {
  deriveDropKeys,
  DROP_CHUNK_BYTES,
  DropDataSealer,
  dropPrologue,
  DropReader,
  dropStoredLength,
  formatDropCode,
  fromHex,
  generateDropCode,
  looksLikeDropCode,
  normalizeDropCode,
  type Offer,
  parseDropCode,
  PortunusError,
  recordAt,
  storedOffsetOf,
  toHex,
  utf8,
  type DropCode,
  type DropPiece,
} from '../src/index.js';
import vector from './vectors/drop.json' with { type: 'json' };

function code(text: string): DropCode {
  const parsed = parseDropCode(text);
  if (parsed instanceof PortunusError) throw parsed;
  return parsed;
}

const vectorCode = code(vector.code);
const aead = nodeAead(deriveDropKeys(vectorCode).key);

/** A whole stored drop of `data` offered as `offer`, as the sender builds it. */
function store(offer: Offer, data: Uint8Array): Uint8Array {
  const parts = [dropPrologue(aead, offer)];
  const sealer = new DropDataSealer(aead);
  for (let at = 0; at === 0 || at < data.length; at += DROP_CHUNK_BYTES) {
    const end = Math.min(at + DROP_CHUNK_BYTES, data.length);
    parts.push(sealer.seal(data.subarray(at, end), end === data.length));
  }
  return Buffer.concat(parts);
}

/** Feeds `stored` in pieces of `step` bytes; gives the offer and the data. */
function read(stored: Uint8Array, step = 65_536): { offer?: Offer; data: Uint8Array } {
  const reader = new DropReader(aead);
  const pieces: DropPiece[] = [];
  for (let at = 0; at < stored.length; at += step) pieces.push(...reader.push(stored.subarray(at, at + step)));
  reader.end();
  const offer = pieces.find((p) => p.type === 'offer')?.offer;
  const data = Buffer.concat(pieces.flatMap((p) => (p.type === 'data' ? [p.plaintext] : [])));
  return { offer, data };
}

function bytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + (i >> 11)) & 0xff;
  return out;
}

describe('drop codes (§11.1)', () => {
  it('are D- and 28 symbols in seven groups of four; any spelling parses to one normalized form', () => {
    expect(formatDropCode(vectorCode)).toBe(vector.code);
    expect(normalizeDropCode(code(vector.typed))).toBe(vector.normalized);
    expect(code(`portunus:${vector.code}`)).toEqual(vectorCode);
    const drawn = generateDropCode(() => new Uint8Array(28).fill(0xff));
    expect(formatDropCode(drawn)).toBe('D-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ');
  });

  it('refuses other lengths and characters with BAD_CODE, and tells drop codes from pickup codes', () => {
    for (const bad of ['D-7KQ2', `${vector.code}-A`, vector.code.replace('7', 'U'), '7-H7K-29A', 'DX-7KQ2']) {
      const parsed = parseDropCode(bad);
      expect(parsed instanceof PortunusError && parsed.code, bad).toBe('BAD_CODE');
    }
    expect(looksLikeDropCode(vector.typed)).toBe(true);
    expect(looksLikeDropCode('portunus:D-7KQ2')).toBe(true);
    expect(looksLikeDropCode('7-H7K-29A')).toBe(false);
  });

  it('give the recorded id and key: HKDF-SHA-256(ikm = normalized code, salt = empty, info = "portunus/1 drop …")', () => {
    const keys = deriveDropKeys(code(vector.typed));
    expect(keys.id).toBe(vector.id);
    expect(toHex(keys.key)).toBe(vector.key);
    const ikm = utf8(vector.normalized);
    expect(toHex(hkdf(sha256, ikm, new Uint8Array(0), utf8('portunus/1 drop id'), 16))).toBe(vector.id);
    expect(toHex(hkdf(sha256, ikm, new Uint8Array(0), utf8('portunus/1 drop key'), 32))).toBe(vector.key);
  });
});

describe('stored format (§11.2)', () => {
  it('is the recorded bytes for the vector drop, and reads back as its offer and data', () => {
    const offer = vector.offer as Offer;
    const stored = store(offer, fromHex(vector.data));
    expect(toHex(dropPrologue(aead, offer))).toBe(vector.prologue);
    expect(toHex(stored)).toBe(vector.stored);
    expect(dropStoredLength(vector.prologue.length / 2, 6)).toBe(stored.length);
    for (const step of [1, 7, 4096]) {
      const got = read(stored, step);
      expect(got.offer).toEqual(offer);
      expect(toHex(got.data)).toBe(vector.data);
    }
  });

  it('stores an empty file as one empty FINAL record and a text offer with no data records', () => {
    const empty: Offer = { kind: 'file', name: 'empty', size: 0 };
    const stored = store(empty, new Uint8Array(0));
    expect(stored.length).toBe(dropStoredLength(dropPrologue(aead, empty).length, 0));
    expect(read(stored).data.length).toBe(0);
    const text: Offer = { kind: 'text', text: 'hunter2' };
    const prologue = dropPrologue(aead, text);
    expect(dropStoredLength(prologue.length, undefined)).toBe(prologue.length);
    expect(read(prologue).offer).toEqual(text);
  });

  it('maps a plaintext offset at a 1 MiB boundary to its stored offset, where a resumed read continues', () => {
    const data = bytes(3 * DROP_CHUNK_BYTES + 123);
    const offer: Offer = { kind: 'file', name: 'big', size: data.length };
    const stored = store(offer, data);
    const prologueBytes = dropPrologue(aead, offer).length;
    expect(stored.length).toBe(dropStoredLength(prologueBytes, data.length));
    expect(() => storedOffsetOf(prologueBytes, 5)).toThrow();
    const at = storedOffsetOf(prologueBytes, 2 * DROP_CHUNK_BYTES);
    expect(recordAt(prologueBytes, at + 10)).toEqual({ index: 2, start: at });
    expect(recordAt(prologueBytes, 3)).toEqual({ index: -1, start: 0 });
    const reader = new DropReader(aead);
    const first = reader.push(stored.subarray(0, prologueBytes + 100));
    expect(first).toEqual([{ type: 'offer', offer, prologue: dropPrologue(aead, offer) }]);
    reader.resumeAt(2);
    const rest = reader.push(stored.subarray(at));
    reader.end();
    const got = Buffer.concat(rest.map((p) => (p.type === 'data' ? p.plaintext : new Uint8Array(0))));
    expect(Buffer.compare(got, data.subarray(2 * DROP_CHUNK_BYTES))).toBe(0);
  });

  it('fails CORRUPT on a flipped byte anywhere, a truncation, bytes after the end or another key', () => {
    const data = bytes(DROP_CHUNK_BYTES + 10);
    const stored = store({ kind: 'file', name: 'f', size: data.length }, data);
    for (const at of [0, 9, 20, 100, stored.length - DROP_CHUNK_BYTES, stored.length - 1]) {
      const flipped = new Uint8Array(stored);
      flipped[at] = flipped[at]! ^ 0x01;
      expect(() => read(flipped), `byte ${at}`).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
    }
    expect(() => read(stored.subarray(0, stored.length - 1))).toThrow(/truncated/);
    expect(() => read(Buffer.concat([stored, new Uint8Array(1)]))).toThrow(/after the last record/);
    const other = new DropReader(nodeAead(deriveDropKeys(generateDropCode(() => new Uint8Array(28))).key));
    expect(() => other.push(stored)).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
  });
});
