/**
 * The vector checks the browser page runs (vector-checks.ts), run in Node: they pass on both AEAD backends, and a
 * wrong expected value in any vector file fails exactly the checks that use it, so a page that reports "all passed"
 * means something.
 */
import { describe, expect, it } from 'vitest';
import type { AeadFactory, DataAeadFactory } from '../src/aead.js';
import { nobleAead } from '../src/aead.noble.js';
import { nodeAead } from '../src/aead.node.js';
import { webCryptoAead } from '../src/aead.webcrypto.js';
import { PROTOCOL_VECTORS, runDataFrameChecks, runVectorChecks, type ProtocolVectors } from './vector-checks.js';

/** The hex string with its last digit changed. */
function wrong(hex: string): string {
  return hex.slice(0, -1) + (hex.endsWith('0') ? '1' : '0');
}

function failures(vectors: ProtocolVectors): string[] {
  return runVectorChecks(nobleAead, vectors)
    .filter((check) => !check.ok)
    .map((check) => check.name);
}

describe('vector checks in Node', () => {
  it.each<[string, AeadFactory]>([
    ['nobleAead', nobleAead],
    ['nodeAead', nodeAead],
  ])('all pass with %s, and cover every vector file', (_name, aead) => {
    const checks = runVectorChecks(aead);
    expect(checks.filter((check) => !check.ok)).toEqual([]);
    const files = checks.map((check) => check.name.split(' ')[0]);
    expect([...new Set(files)]).toEqual(['cpace', 'keys', 'frames', 'binding', 'drop']);
    expect(files.filter((file) => file === 'frames')).toHaveLength(3 * PROTOCOL_VECTORS.frames.vectors.length);
  });

  const mutations: [string, (v: ProtocolVectors) => void, string[]][] = [
    [
      'cpace ISK_IR',
      (v) => (v.cpace.G_Coffee25519.ISK_IR = wrong(v.cpace.G_Coffee25519.ISK_IR)),
      ['cpace B.3.5 ISK_IR', 'cpace protocol flow, initiator ISK', 'cpace protocol flow, responder ISK'],
    ],
    [
      'cpace Invalid Y2 (now a valid point)',
      (v) => (v.cpace.G_Coffee25519_points['Invalid Y2'] = v.cpace.G_Coffee25519_points.Valid.X),
      ['cpace B.3.11 invalid Y2 gives G.I'],
    ],
    ['keys "data b"', (v) => (v.keys.keys['data b'] = wrong(v.keys.keys['data b'])), ['keys data b']],
    ['keys verifier', (v) => (v.keys.verifier = 'DJ9D-MEG5'), ['keys verifier']],
    [
      'a frame byte',
      (v) => (v.frames.vectors[1]!.frame = wrong(v.frames.vectors[1]!.frame)),
      [
        `frames ${PROTOCOL_VECTORS.frames.vectors[1]!.description}: seal`,
        `frames ${PROTOCOL_VECTORS.frames.vectors[1]!.description}: open`,
      ],
    ],
    [
      'a WebRTC binding MAC',
      (v) => (v.binding.cases[0]!.mac = wrong(v.binding.cases[0]!.mac)),
      ['binding webrtc send', 'binding webrtc send, checked by the peer'],
    ],
    [
      'a TCP binding MAC',
      (v) => (v.tcpBinding.cases[1]!.mac = wrong(v.tcpBinding.cases[1]!.mac)),
      ['binding tcp receive', 'binding tcp receive, checked by the peer'],
    ],
  ];

  it.each(mutations)('a wrong %s fails exactly its checks', (_name, mutate, expected) => {
    const vectors = structuredClone(PROTOCOL_VECTORS);
    mutate(vectors);
    expect(failures(vectors)).toEqual(expected);
  });
});

describe('data-frame checks (FrameSealer, FrameOpener on a DataAead) in Node', () => {
  it.each<[string, DataAeadFactory]>([
    ['webCryptoAead', webCryptoAead],
    ['nobleAead', nobleAead],
    ['nodeAead', nodeAead],
  ])('all pass with %s', async (_name, aead) => {
    const checks = await runDataFrameChecks(aead);
    expect(checks.filter((check) => !check.ok)).toEqual([]);
    expect(checks).toHaveLength(3 * PROTOCOL_VECTORS.frames.vectors.length);
  });

  it('a wrong frame byte fails its seal and open checks, on WebCrypto too', async () => {
    const frames = structuredClone(PROTOCOL_VECTORS.frames);
    frames.vectors[1]!.frame = wrong(frames.vectors[1]!.frame);
    const failed = (await runDataFrameChecks(webCryptoAead, frames)).filter((c) => !c.ok).map((c) => c.name);
    const name = `data frames ${frames.vectors[1]!.description}`;
    expect(failed).toEqual([`${name}: seal`, `${name}: open`]);
  });
});
