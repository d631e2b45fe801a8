/**
 * CPace (draft-irtf-cfrg-cpace), suite CPACE-RISTR255-SHA512, driven by the draft's vectors: Appendix B.3
 * (vectors/cpace-testvectors.json, entries G_Coffee25519 and G_Coffee25519_points) and the string-utility
 * vectors of Appendix A, quoted inline below.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../src/bytes.js';
import type { RandomBytes } from '../src/bytes.js';
import {
  abilitiesAd,
  calculateGenerator,
  cpaceCi,
  cpaceFinish,
  cpaceStart,
  generatorString,
  intermediateSessionKey,
  lexicographicallyLarger,
  lvCat,
  oCat,
  prependLen,
  sampleScalar,
  scalarMult,
  scalarMultVfy,
  sidOutput,
  transcriptIr,
  transcriptOc,
} from '../src/cpace.js';
import type { CpaceInputs } from '../src/cpace.js';
import { PortunusError } from '../src/errors.js';
import vectors from './vectors/cpace-testvectors.json' with { type: 'json' };

const tc = vectors.G_Coffee25519;
const points = vectors.G_Coffee25519_points;
const hex = (h: string) => fromHex(h);
const G_I = new Uint8Array(32);

/** A RandomBytes that hands out the given byte strings in order, then fails the test. */
function scripted(...outputs: Uint8Array[]): RandomBytes {
  let next = 0;
  return (length) => {
    const out = outputs[next++];
    if (out === undefined || out.length !== length) throw new Error(`unexpected random(${length}) call #${next}`);
    return out.slice();
  };
}

function expectPakeFailed(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(PortunusError);
  expect((caught as PortunusError).code).toBe('PAKE_FAILED');
}

const inputs: CpaceInputs = { prs: hex(tc.PRS), ci: hex(tc.CI), sid: hex(tc.sid) };

describe('A.1 string utilities', () => {
  it('prepend_len (A.1.2) encodes the length as LEB128', () => {
    expect(toHex(prependLen(new Uint8Array()))).toBe('00');
    expect(toHex(prependLen(utf8('1234')))).toBe('0431323334');
    const r127 = Uint8Array.from({ length: 127 }, (_, i) => i);
    expect(toHex(prependLen(r127).subarray(0, 2))).toBe('7f00');
    expect(prependLen(r127).length).toBe(128);
    const r128 = Uint8Array.from({ length: 128 }, (_, i) => i);
    expect(toHex(prependLen(r128).subarray(0, 3))).toBe('800100');
    expect(prependLen(r128).length).toBe(130);
    expect(toHex(prependLen(new Uint8Array(16384)).subarray(0, 4))).toBe('80800100');
  });

  it('lv_cat (A.1.4)', () => {
    expect(toHex(lvCat(utf8('1234'), utf8('5'), utf8(''), utf8('678')))).toBe('043132333401350003363738');
  });

  it('o_cat and lexicographic order (A.3.3)', () => {
    const b = (...v: number[]) => Uint8Array.from(v);
    expect(lexicographicallyLarger(b(0), b(0, 0))).toBe(false);
    expect(lexicographicallyLarger(b(1), b(0, 0))).toBe(true);
    expect(lexicographicallyLarger(b(0, 0), b(0))).toBe(true);
    expect(lexicographicallyLarger(b(0, 0), b(1))).toBe(false);
    expect(lexicographicallyLarger(b(0, 1), b(1))).toBe(false);
    expect(lexicographicallyLarger(utf8('ABCD'), utf8('BCD'))).toBe(false);
    expect(toHex(oCat(utf8('ABCD'), utf8('BCD')))).toBe('6f6342434441424344');
    expect(toHex(oCat(utf8('BCD'), utf8('ABCDE')))).toBe('6f634243444142434445');
  });

  it('transcript_ir (A.3.5) and transcript_oc (A.3.7)', () => {
    const [a, pa, bb, pb] = [utf8('123'), utf8('PartyA'), utf8('234'), utf8('PartyB')];
    expect(toHex(transcriptIr(a, pa, bb, pb))).toBe('03313233065061727479410332333406506172747942');
    expect(toHex(transcriptOc(a, pa, bb, pb))).toBe('6f6303323334065061727479420331323306506172747941');
    const [c, d] = [utf8('3456'), utf8('2345')];
    expect(toHex(transcriptIr(c, pa, d, pb))).toBe('043334353606506172747941043233343506506172747942');
    expect(toHex(transcriptOc(c, pa, d, pb))).toBe('6f63043334353606506172747941043233343506506172747942');
  });
});

describe('B.3 CPACE-RISTR255-SHA512 (G_Coffee25519)', () => {
  it('generator_string pads DSI and PRS to one SHA-512 block (B.3.1, ZPAD length 100)', () => {
    const gen = generatorString(utf8('CPaceRistretto255'), inputs.prs, inputs.ci, inputs.sid, 128);
    const expected =
      // lv(DSI) lv(PRS), then 0x64 = 100 and the 100 zero bytes of padding, then lv(CI) lv(sid).
      '11435061636552697374726574746f323535' +
      '0850617373776f7264' +
      '64' +
      '00'.repeat(100) +
      '180b415f696e69746961746f720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f2c57';
    expect(gen.length).toBe(170);
    expect(toHex(gen)).toBe(expected);
  });

  it('calculate_generator gives g', () => {
    const g = calculateGenerator(inputs.prs, inputs.ci, inputs.sid);
    expect(toHex(g.toBytes())).toBe(tc.g.toLowerCase());
  });

  it('sample_scalar and scalar_mult give Ya and Yb (B.3.2, B.3.3)', () => {
    const g = calculateGenerator(inputs.prs, inputs.ci, inputs.sid);
    expect(toHex(scalarMult(sampleScalar(scripted(hex(tc.ya))), g))).toBe(tc.Ya.toLowerCase());
    expect(toHex(scalarMult(sampleScalar(scripted(hex(tc.yb))), g))).toBe(tc.Yb.toLowerCase());
  });

  it('scalar_mult_vfy gives the same K on both sides (B.3.4)', () => {
    const ya = sampleScalar(scripted(hex(tc.ya)));
    const yb = sampleScalar(scripted(hex(tc.yb)));
    expect(toHex(scalarMultVfy(ya, hex(tc.Yb)))).toBe(tc.K.toLowerCase());
    expect(toHex(scalarMultVfy(yb, hex(tc.Ya)))).toBe(tc.K.toLowerCase());
  });

  it('ISK for initiator-responder (B.3.5) and symmetric execution (B.3.6)', () => {
    const t = [hex(tc.Ya), hex(tc.ADa), hex(tc.Yb), hex(tc.ADb)] as const;
    expect(toHex(intermediateSessionKey(inputs.sid, hex(tc.K), transcriptIr(...t)))).toBe(tc.ISK_IR.toLowerCase());
    expect(toHex(intermediateSessionKey(inputs.sid, hex(tc.K), transcriptOc(...t)))).toBe(tc.ISK_SY.toLowerCase());
  });

  it('optional sid_output (B.3.7)', () => {
    const t = [hex(tc.Ya), hex(tc.ADa), hex(tc.Yb), hex(tc.ADb)] as const;
    expect(toHex(sidOutput(transcriptIr(...t)))).toBe(tc.sid_output_ir.toLowerCase());
    expect(toHex(sidOutput(transcriptOc(...t)))).toBe(tc.sid_output_oc.toLowerCase());
  });

  it('cpaceStart/cpaceFinish run the protocol flow (7.2) to ISK_IR on both sides', () => {
    const a = cpaceStart(inputs, hex(tc.ADa), scripted(hex(tc.ya)));
    const b = cpaceStart(inputs, hex(tc.ADb), scripted(hex(tc.yb)));
    expect(toHex(a.y)).toBe(tc.Ya.toLowerCase());
    expect(toHex(b.y)).toBe(tc.Yb.toLowerCase());
    const iskA = cpaceFinish(a, 'initiator', { y: b.y, ad: b.ad }, inputs.sid);
    const iskB = cpaceFinish(b, 'responder', { y: a.y, ad: a.ad }, inputs.sid);
    expect(toHex(iskA)).toBe(tc.ISK_IR.toLowerCase());
    expect(toHex(iskB)).toBe(tc.ISK_IR.toLowerCase());
  });
});

describe('B.3.10/B.3.11 scalar_mult_vfy (G_Coffee25519_points)', () => {
  const s = sampleScalar(scripted(hex(points.Valid.s)));

  it('valid input: scalar_mult(s, decode(X)) = scalar_mult_vfy(s, X)', () => {
    expect(toHex(scalarMultVfy(s, hex(points.Valid.X)))).toBe(points.Valid['G.scalar_mult_vfy(s,X)'].toLowerCase());
    expect(points.Valid['G.scalar_mult(s,decode(X))']).toBe(points.Valid['G.scalar_mult_vfy(s,X)']);
  });

  const invalid: [string, Uint8Array][] = [
    ['Y_i1: not a valid encoding', hex(points['Invalid Y1'])],
    ['Y_i2: G.I, the neutral element', hex(points['Invalid Y2'])],
    [
      'X with bit 255 set (non-canonical)',
      (() => {
        const x = hex(points.Valid.X);
        x[31]! |= 0x80;
        return x;
      })(),
    ],
    ['a field element >= p (non-canonical)', hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')],
    ['31 bytes', hex(points.Valid.X).subarray(0, 31)],
    ['33 bytes', hex(points.Valid.X + '00')],
    ['empty', new Uint8Array()],
  ];

  it.each(invalid)('%s: scalar_mult_vfy returns G.I', (_name, y) => {
    expect(toHex(scalarMultVfy(s, y))).toBe(toHex(G_I));
  });

  it.each(invalid)('%s in the peer message: both roles abort with PAKE_FAILED', (_name, y) => {
    for (const role of ['initiator', 'responder'] as const) {
      const share = cpaceStart(inputs, hex(tc.ADa), scripted(hex(tc.ya)));
      expectPakeFailed(() => cpaceFinish(share, role, { y, ad: hex(tc.ADb) }, inputs.sid));
    }
  });

  it('ISK is never computed from K = G.I', () => {
    expectPakeFailed(() => intermediateSessionKey(inputs.sid, G_I, new Uint8Array()));
  });
});

describe('sample_scalar (8.3)', () => {
  it('clears the bits above group_size_bits (252) and reads little-endian', () => {
    const scalar = sampleScalar(scripted(new Uint8Array(32).fill(0xff)));
    expect(scalar).toBe(2n ** 252n - 1n);
  });

  it('redraws a zero scalar, and fails after a bounded number of zero draws', () => {
    const one = new Uint8Array(32);
    one[0] = 1;
    // 0x00..00 and 0xf0 in the top byte both reduce to zero after masking.
    const topOnly = new Uint8Array(32);
    topOnly[31] = 0xf0;
    expect(sampleScalar(scripted(new Uint8Array(32), topOnly, one))).toBe(1n);
    let calls = 0;
    const zeros: RandomBytes = (n) => {
      calls++;
      return new Uint8Array(n);
    };
    expect(() => sampleScalar(zeros)).toThrow(/no usable CPace scalar/);
    expect(calls).toBeGreaterThan(1);
    expect(calls).toBeLessThan(10);
  });
});

describe('Portunus inputs', () => {
  it('CI = lv_cat("portunus/1", relayName)', () => {
    expect(toHex(cpaceCi('relay.example'))).toBe(toHex(lvCat(utf8('portunus/1'), utf8('relay.example'))));
    expect(toHex(cpaceCi('r'))).toBe('0a706f7274756e75732f310172');
  });

  it('AD = lv_cat of each ability, in order', () => {
    expect(toHex(abilitiesAd(['relay-v1', 'webrtc-v1']))).toBe('0872656c61792d7631097765627274632d7631');
    expect(toHex(abilitiesAd(['webrtc-v1', 'relay-v1']))).not.toBe(toHex(abilitiesAd(['relay-v1', 'webrtc-v1'])));
    expect(abilitiesAd([]).length).toBe(0);
    // Length prefixes keep ["ab", "c"] and ["a", "bc"] apart.
    expect(toHex(abilitiesAd(['ab', 'c']))).not.toBe(toHex(abilitiesAd(['a', 'bc'])));
  });

  function run(a: { prs?: string; relay?: string; sid?: Uint8Array; ad?: string[] }, b: typeof a) {
    const sid = hex(tc.sid);
    const mk = (o: typeof a, r: Uint8Array) =>
      cpaceStart(
        { prs: utf8(o.prs ?? '7-H7K29A'), ci: cpaceCi(o.relay ?? 'relay.example'), sid: o.sid ?? sid },
        abilitiesAd(o.ad ?? ['relay-v1', 'webrtc-v1']),
        scripted(r),
      );
    const sa = mk(a, hex(tc.ya));
    const sb = mk(b, hex(tc.yb));
    // Each side hands the peer's message to cpaceFinish as received.
    const iskA = cpaceFinish(sa, 'initiator', { y: sb.y, ad: sb.ad }, a.sid ?? sid);
    const iskB = cpaceFinish(sb, 'responder', { y: sa.y, ad: sa.ad }, b.sid ?? sid);
    return { iskA: toHex(iskA), iskB: toHex(iskB) };
  }

  it('same code, relay, sid and messages: equal 64-byte ISKs', () => {
    const { iskA, iskB } = run({}, {});
    expect(iskA).toBe(iskB);
    expect(iskA.length).toBe(128);
  });

  it.each([
    ['PRS (the code)', { prs: '7-H7K29B' }],
    ['CI (the relay name)', { relay: 'evil.example' }],
    ['sid', { sid: new Uint8Array(16) }],
  ])('a different %s on one side gives different ISKs', (_name, diff) => {
    const { iskA, iskB } = run({}, diff);
    expect(iskA).not.toBe(iskB);
  });

  it('a relay that strips an ability in transit changes the ISK', () => {
    const sid = hex(tc.sid);
    const ins = { prs: utf8('7-H7K29A'), ci: cpaceCi('relay.example'), sid };
    const sa = cpaceStart(ins, abilitiesAd(['relay-v1', 'webrtc-v1']), scripted(hex(tc.ya)));
    const sb = cpaceStart(ins, abilitiesAd(['relay-v1', 'webrtc-v1']), scripted(hex(tc.yb)));
    const iskA = cpaceFinish(sa, 'initiator', { y: sb.y, ad: sb.ad }, sid);
    const iskB = cpaceFinish(sb, 'responder', { y: sa.y, ad: abilitiesAd(['relay-v1']) }, sid);
    expect(toHex(iskA)).not.toBe(toHex(iskB));
  });

  it('both sides claiming the same role disagree on the ISK', () => {
    const sa = cpaceStart(inputs, hex(tc.ADa), scripted(hex(tc.ya)));
    const sb = cpaceStart(inputs, hex(tc.ADb), scripted(hex(tc.yb)));
    const iskA = cpaceFinish(sa, 'initiator', { y: sb.y, ad: sb.ad }, inputs.sid);
    const iskB = cpaceFinish(sb, 'initiator', { y: sa.y, ad: sa.ad }, inputs.sid);
    expect(toHex(iskA)).not.toBe(toHex(iskB));
  });

  it('a share shows only y and ad: the scalar never reaches JSON or Object.keys', () => {
    const share = cpaceStart(inputs, hex(tc.ADa), scripted(hex(tc.ya)));
    expect(Object.keys(share).sort()).toEqual(['ad', 'y']);
    expect(JSON.stringify(share)).not.toContain(BigInt('0x' + toHex(hex(tc.ya).reverse())).toString());
  });

  it('finishing under another sid is a caller bug, reported as INTERNAL', () => {
    const share = cpaceStart(inputs, hex(tc.ADa), scripted(hex(tc.ya)));
    expect(() => cpaceFinish(share, 'initiator', { y: hex(tc.Yb), ad: hex(tc.ADb) }, new Uint8Array(16))).toThrow(
      expect.objectContaining({ code: 'INTERNAL' }),
    );
  });

  it('cpaceFinish accepts only shares made by cpaceStart', () => {
    const forged = { y: hex(tc.Ya), ad: hex(tc.ADa) };
    expect(() => cpaceFinish(forged, 'initiator', { y: hex(tc.Yb), ad: hex(tc.ADb) }, inputs.sid)).toThrow(
      expect.objectContaining({ code: 'INTERNAL' }),
    );
  });
});
