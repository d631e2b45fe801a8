/**
 * The stored format (PROTOCOL.md §11.2) on an asynchronous AEAD, as the page's WebCrypto answers: DropDataSealer
 * gives the same records as on a synchronous one, DropReader the same pieces (each push a promise), and a flipped
 * byte still rejects CORRUPT and ends the reader. The async AEAD here is node:crypto behind promises, so the bytes
 * are comparable with the synchronous path's.
 */
import { describe, expect, it } from 'vitest';
import { nodeAead } from '../src/index.node.js';
import {
  type DataAead,
  deriveDropKeys,
  DROP_CHUNK_BYTES,
  DropDataSealer,
  dropPrologue,
  DropReader,
  generateDropCode,
  type DropPiece,
  type Offer,
} from '../src/index.js';

const key = deriveDropKeys(generateDropCode((n) => new Uint8Array(n).fill(7))).key;
const sync = nodeAead(key);
const promised: DataAead = {
  seal: async (nonce, aad, plaintext) => sync.seal(nonce, aad, plaintext),
  open: async (nonce, aad, sealed) => sync.open(nonce, aad, sealed),
};

const size = 2 * DROP_CHUNK_BYTES + 1000;
const data = new Uint8Array(size);
for (let i = 0; i < size; i++) data[i] = (i * 13 + (i >> 9)) & 0xff;
const offer: Offer = { kind: 'file', name: 'a.bin', size };

async function store(aead: DataAead): Promise<Uint8Array> {
  const parts = [dropPrologue(sync, offer)];
  const sealer = new DropDataSealer(aead);
  for (let at = 0; at < size; at += DROP_CHUNK_BYTES) {
    const end = Math.min(at + DROP_CHUNK_BYTES, size);
    parts.push(await sealer.seal(data.subarray(at, end), end === size));
  }
  return Buffer.concat(parts);
}

async function read(stored: Uint8Array, step = 100_000): Promise<DropPiece[]> {
  const reader = new DropReader(promised);
  const pieces: DropPiece[] = [];
  for (let at = 0; at < stored.length; at += step) pieces.push(...(await reader.push(stored.subarray(at, at + step))));
  reader.end();
  return pieces;
}

describe('stored format on an asynchronous AEAD (§11.2)', () => {
  it('seals the same records and reads the same pieces as the synchronous AEAD', async () => {
    const stored = await store(promised);
    expect(Buffer.from(stored).equals(Buffer.from(await store(sync)))).toBe(true);
    const pieces = await read(stored);
    expect(pieces[0]).toEqual({ type: 'offer', offer, prologue: dropPrologue(sync, offer) });
    const plaintext = Buffer.concat(pieces.flatMap((p) => (p.type === 'data' ? [p.plaintext] : [])));
    expect(plaintext.equals(Buffer.from(data))).toBe(true);
    const syncPieces = new DropReader(sync).push(stored);
    expect(syncPieces.map((p) => p.type)).toEqual(pieces.map((p) => p.type));
    const syncText = Buffer.concat(syncPieces.flatMap((p) => (p.type === 'data' ? [p.plaintext] : [])));
    expect(syncText.equals(plaintext)).toBe(true);
  });

  it('a flipped byte rejects CORRUPT, and the reader stays failed', async () => {
    const stored = await store(promised);
    stored[stored.length - 500]! ^= 1;
    const reader = new DropReader(promised);
    await expect(Promise.resolve().then(() => reader.push(stored))).rejects.toMatchObject({ code: 'CORRUPT' });
    expect(() => reader.push(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
  });
});
