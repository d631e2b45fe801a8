/**
 * The protocol's test vectors as plain checks that run anywhere: in Node (vector-checks.test.ts) and bundled into a
 * page in headless Chromium (browser.test.ts), where vitest's `expect` is not available. Everything comes through
 * the browser entry (src/index.ts) except the Aead, which the caller picks.
 *
 * Each check compares hex strings, so a failure names the check and shows what differed.
 */
import type { AeadFactory, DataAeadFactory } from '../src/aead.js';
import {
  FrameOpener,
  FrameSealer,
  PortunusError,
  abilitiesAd,
  asKey,
  deriveDropKeys,
  DropDataSealer,
  dropPrologue,
  DropReader,
  type Offer,
  parseDropCode,
  bindingMac,
  calculateGenerator,
  checkBindingMac,
  checkTcpBindingMac,
  confirmationMac,
  cpaceCi,
  cpaceFinish,
  cpaceStart,
  deriveSessionKeys,
  fromHex,
  intermediateSessionKey,
  openFrame,
  sampleScalar,
  scalarMult,
  scalarMultVfy,
  sealFrame,
  sidOutput,
  tcpBindingMac,
  toHex,
  transcriptIr,
  transcriptOc,
  utf8,
} from '../src/index.js';
import binding from './vectors/binding.json' with { type: 'json' };
import cpace from './vectors/cpace-testvectors.json' with { type: 'json' };
import drop from './vectors/drop.json' with { type: 'json' };
import frames from './vectors/frames.json' with { type: 'json' };
import keys from './vectors/keys.json' with { type: 'json' };
import tcpBinding from './vectors/tcp-binding.json' with { type: 'json' };

export const PROTOCOL_VECTORS = { cpace, keys, frames, binding, tcpBinding, drop };
export type ProtocolVectors = typeof PROTOCOL_VECTORS;

export interface VectorCheck {
  /** "<vector file> <what>", e.g. "frames short text, final, control stream index 1: seal". */
  name: string;
  ok: boolean;
  /** What differed, or the error thrown. */
  detail?: string;
}

/** What browser-page.ts leaves on `globalThis[PAGE_REPORT_GLOBAL]` for browser.test.ts. */
export interface PageReport {
  checks: VectorCheck[];
  /** The names src/index.ts exports, as the bundle evaluated them. */
  exports: string[];
  /** `typeof crypto.subtle` in the page (the test hides it, as a plain-http LAN page lacks it). */
  subtle: string;
  /** SHA-256 of "abc" by the page's Sha256 (sha256.noble.ts). */
  sha256Abc: string;
  /** What pageDataAead picked in the page: WebCrypto in a secure context, else noble. */
  dataBackend: string;
  /** runDataFrameChecks on that AEAD. */
  dataFrames: VectorCheck[];
}

export const PAGE_REPORT_GLOBAL = '__portunusVectorReport';

type Check = [name: string, actual: () => string, expected: string];

/** Runs every check of every vector file; never throws (an exception fails its own check). */
export function runVectorChecks(aead: AeadFactory, vectors: ProtocolVectors = PROTOCOL_VECTORS): VectorCheck[] {
  const checks = [
    ...cpaceChecks(vectors.cpace),
    ...keyChecks(vectors.keys),
    ...frameChecks(vectors.frames, aead),
    ...bindingChecks(vectors.binding, vectors.tcpBinding),
    ...dropChecks(vectors.drop, aead),
  ];
  return checks.map(([name, actual, expected]) => {
    try {
      const got = actual();
      if (got === expected) return { name, ok: true };
      return { name, ok: false, detail: `expected ${short(expected)}, got ${short(got)}` };
    } catch (err) {
      return { name, ok: false, detail: `threw ${err instanceof Error ? err.message : String(err)}` };
    }
  });
}

/**
 * The frame vectors through the data plane's stream objects (FrameSealer, FrameOpener) on a DataAead, which may be
 * asynchronous (WebCrypto): sealed, opened, and refused with CORRUPT after a flipped tag bit. Never rejects.
 */
export async function runDataFrameChecks(
  aead: DataAeadFactory,
  vectors: ProtocolVectors['frames'] = PROTOCOL_VECTORS.frames,
): Promise<VectorCheck[]> {
  const checks: [name: string, actual: () => Promise<string>, expected: string][] = vectors.vectors.flatMap(
    (vector) => {
      const { streamId, index, final } = vector;
      const opener = () => new FrameOpener(aead(fromHex(vector.key)), streamId, index);
      const sealed = async () =>
        toHex(await new FrameSealer(aead(fromHex(vector.key)), streamId, index).seal(fromHex(vector.plaintext), final));
      const opened = async () => {
        const frame = await opener().open(fromHex(vector.frame));
        return `${frame.final} ${frame.index} ${toHex(frame.plaintext)}`;
      };
      const tampered = async () => {
        const frame = fromHex(vector.frame);
        frame[frame.length - 1]! ^= 0x01;
        try {
          await opener().open(frame);
          return 'opened';
        } catch (err) {
          return err instanceof PortunusError ? err.code : String(err);
        }
      };
      const name = `data frames ${vector.description}`;
      return [
        [`${name}: seal`, sealed, vector.frame],
        [`${name}: open`, opened, `${final} ${index} ${vector.plaintext}`],
        [`${name}: a flipped tag bit`, tampered, 'CORRUPT'],
      ];
    },
  );
  const results: VectorCheck[] = [];
  for (const [name, actual, expected] of checks) {
    try {
      const got = await actual();
      results.push(
        got === expected
          ? { name, ok: true }
          : { name, ok: false, detail: `expected ${short(expected)}, got ${short(got)}` },
      );
    } catch (err) {
      results.push({ name, ok: false, detail: `threw ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  return results;
}

function short(hex: string): string {
  return hex.length <= 72 ? hex : `${hex.slice(0, 72)}… (${hex.length / 2} bytes)`;
}

/** A RandomBytes that returns the vector's scalar bytes, as cpace.test.ts scripts them. */
const fixed = (bytes: Uint8Array) => () => bytes.slice();

/** draft-irtf-cfrg-cpace Appendix B.3 (CPACE-RISTR255-SHA512), entries G_Coffee25519 and its points. */
function cpaceChecks(v: ProtocolVectors['cpace']): Check[] {
  const tc = v.G_Coffee25519;
  const points = v.G_Coffee25519_points;
  const hex = (h: string) => fromHex(h.toLowerCase());
  const inputs = { prs: hex(tc.PRS), ci: hex(tc.CI), sid: hex(tc.sid) };
  const g = () => calculateGenerator(inputs.prs, inputs.ci, inputs.sid);
  const ya = () => sampleScalar(fixed(hex(tc.ya)));
  const yb = () => sampleScalar(fixed(hex(tc.yb)));
  const t = () => [hex(tc.Ya), hex(tc.ADa), hex(tc.Yb), hex(tc.ADb)] as const;
  const isk = (transcript: Uint8Array) => toHex(intermediateSessionKey(inputs.sid, hex(tc.K), transcript));
  const share = (y: string, ad: string) => cpaceStart(inputs, hex(ad), fixed(hex(y)));
  const lower = (h: string) => h.toLowerCase();
  const identity = '00'.repeat(32);
  const s = () => sampleScalar(fixed(hex(points.Valid.s)));
  return [
    ['cpace B.3.1 calculate_generator', () => toHex(g().toBytes()), lower(tc.g)],
    ['cpace B.3.2 Ya', () => toHex(scalarMult(ya(), g())), lower(tc.Ya)],
    ['cpace B.3.3 Yb', () => toHex(scalarMult(yb(), g())), lower(tc.Yb)],
    ['cpace B.3.4 K at A', () => toHex(scalarMultVfy(ya(), hex(tc.Yb))), lower(tc.K)],
    ['cpace B.3.4 K at B', () => toHex(scalarMultVfy(yb(), hex(tc.Ya))), lower(tc.K)],
    ['cpace B.3.5 ISK_IR', () => isk(transcriptIr(...t())), lower(tc.ISK_IR)],
    ['cpace B.3.6 ISK_SY', () => isk(transcriptOc(...t())), lower(tc.ISK_SY)],
    ['cpace B.3.7 sid_output_ir', () => toHex(sidOutput(transcriptIr(...t()))), lower(tc.sid_output_ir)],
    ['cpace B.3.7 sid_output_oc', () => toHex(sidOutput(transcriptOc(...t()))), lower(tc.sid_output_oc)],
    [
      'cpace protocol flow, initiator ISK',
      () => toHex(cpaceFinish(share(tc.ya, tc.ADa), 'initiator', { y: hex(tc.Yb), ad: hex(tc.ADb) }, inputs.sid)),
      lower(tc.ISK_IR),
    ],
    [
      'cpace protocol flow, responder ISK',
      () => toHex(cpaceFinish(share(tc.yb, tc.ADb), 'responder', { y: hex(tc.Ya), ad: hex(tc.ADa) }, inputs.sid)),
      lower(tc.ISK_IR),
    ],
    [
      'cpace B.3.10 valid point',
      () => toHex(scalarMultVfy(s(), hex(points.Valid.X))),
      lower(points.Valid['G.scalar_mult_vfy(s,X)']),
    ],
    ['cpace B.3.11 invalid Y1 gives G.I', () => toHex(scalarMultVfy(s(), hex(points['Invalid Y1']))), identity],
    ['cpace B.3.11 invalid Y2 gives G.I', () => toHex(scalarMultVfy(s(), hex(points['Invalid Y2']))), identity],
  ];
}

/** vectors/keys.json: one handshake with fixed inputs, from CPace through every key to both confirmation MACs. */
function keyChecks(v: ProtocolVectors['keys']): Check[] {
  const { inputs } = v;
  const sid = fromHex(inputs.sid);
  const ci = () => cpaceCi(inputs.relayName);
  const start = (abilities: string[], random: string) =>
    cpaceStart({ prs: utf8(inputs.prs), ci: ci(), sid }, abilitiesAd(abilities), fixed(fromHex(random)));
  const shareA = () => start(inputs.adA, inputs.randomA);
  const shareB = () => start(inputs.adB, inputs.randomB);
  const isk = () => {
    const b = shareB();
    return cpaceFinish(shareA(), 'initiator', { y: b.y, ad: b.ad }, sid);
  };
  const derived = () => deriveSessionKeys(isk(), sid);
  const transcript = () => ({ ya: shareA().y, ada: shareA().ad, yb: shareB().y, adb: shareB().ad });
  const keyOf: Record<string, (k: ReturnType<typeof derived>) => Uint8Array> = {
    'confirm a': (k) => k.confirm.a,
    'confirm b': (k) => k.confirm.b,
    'message a': (k) => k.message.a,
    'message b': (k) => k.message.b,
    'data a': (k) => k.data.a,
    'data b': (k) => k.data.b,
    binding: (k) => k.binding,
  };
  return [
    ['keys CI', () => toHex(ci()), v.cpace.ci],
    ['keys ADa', () => toHex(abilitiesAd(inputs.adA)), v.cpace.ada],
    ['keys ADb', () => toHex(abilitiesAd(inputs.adB)), v.cpace.adb],
    ['keys Ya', () => toHex(shareA().y), v.cpace.ya],
    ['keys Yb', () => toHex(shareB().y), v.cpace.yb],
    ['keys ISK', () => toHex(isk()), v.cpace.isk],
    ...Object.entries(keyOf).map(([label, pick]): Check => {
      return [`keys ${label}`, () => toHex(pick(derived())), v.keys[label as keyof typeof v.keys]];
    }),
    ['keys verifier', () => derived().verifier, v.verifier],
    ['keys confirmation MAC a', () => toHex(confirmationMac(derived(), 'a', transcript())), v.confirm.macA],
    ['keys confirmation MAC b', () => toHex(confirmationMac(derived(), 'b', transcript())), v.confirm.macB],
  ];
}

/** vectors/frames.json through sealFrame/openFrame on the given Aead; a flipped tag bit must fail with CORRUPT. */
function frameChecks(v: ProtocolVectors['frames'], aead: AeadFactory): Check[] {
  return v.vectors.flatMap((vector): Check[] => {
    const key = () => aead(fromHex(vector.key));
    const opened = () => {
      const frame = openFrame(key(), fromHex(vector.frame));
      return `${frame.final} ${frame.streamId} ${frame.index} ${toHex(frame.plaintext)}`;
    };
    const tampered = () => {
      const frame = fromHex(vector.frame);
      frame[frame.length - 1]! ^= 0x01;
      try {
        openFrame(key(), frame);
        return 'opened';
      } catch (err) {
        return err instanceof PortunusError ? err.code : String(err);
      }
    };
    const { streamId, index, final } = vector;
    const sealed = () => toHex(sealFrame(key(), streamId, index, final, fromHex(vector.plaintext)));
    return [
      [`frames ${vector.description}: seal`, sealed, vector.frame],
      [`frames ${vector.description}: open`, opened, `${final} ${streamId} ${index} ${vector.plaintext}`],
      [`frames ${vector.description}: a flipped tag bit`, tampered, 'CORRUPT'],
    ];
  });
}

/** vectors/binding.json (WebRTC certificates) and vectors/tcp-binding.json (TCP nonces). */
function bindingChecks(webrtc: ProtocolVectors['binding'], tcp: ProtocolVectors['tcpBinding']): Check[] {
  const webrtcKey = asKey('binding', fromHex(webrtc.key));
  const tcpKey = asKey('binding', fromHex(tcp.key));
  const dialer = fromHex(tcp.dialerNonce);
  const listener = fromHex(tcp.listenerNonce);
  const role = (r: string) => r as 'send' | 'receive';
  return [
    ...webrtc.cases.flatMap((c): Check[] => {
      const [local, remote, mac] = [fromHex(c.local), fromHex(c.remote), fromHex(c.mac)];
      return [
        [`binding webrtc ${c.role}`, () => toHex(bindingMac(webrtcKey, role(c.role), local, remote)), c.mac],
        // The peer checks it against the certificate the author presented in DTLS (the author's local) and its own.
        [
          `binding webrtc ${c.role}, checked by the peer`,
          () => String(checkBindingMac(webrtcKey, role(c.role), local, remote, mac)),
          'true',
        ],
      ];
    }),
    ...tcp.cases.flatMap((c): Check[] => [
      [`binding tcp ${c.role}`, () => toHex(tcpBindingMac(tcpKey, role(c.role), dialer, listener)), c.mac],
      [
        `binding tcp ${c.role}, checked by the peer`,
        () => String(checkTcpBindingMac(tcpKey, role(c.role), dialer, listener, fromHex(c.mac))),
        'true',
      ],
    ]),
  ];
}

/** vectors/drop.json (PROTOCOL.md §11.1, §11.2): a drop code's id and key, and every stored byte of a tiny drop. */
function dropChecks(v: ProtocolVectors['drop'], aead: AeadFactory): Check[] {
  const keys = () => {
    const code = parseDropCode(v.typed);
    if (code instanceof PortunusError) throw code;
    return deriveDropKeys(code);
  };
  const offer = v.offer as Offer;
  const stored = () => {
    const key = aead(keys().key);
    return toHex(dropPrologue(key, offer)) + toHex(new DropDataSealer(key).seal(fromHex(v.data), true));
  };
  const opened = () => {
    const reader = new DropReader(aead(keys().key));
    const pieces = reader.push(fromHex(v.stored));
    reader.end();
    return pieces.map((p) => (p.type === 'offer' ? JSON.stringify(p.offer) : toHex(p.plaintext))).join(' ');
  };
  return [
    ['drop id', () => keys().id, v.id],
    ['drop key', () => toHex(keys().key), v.key],
    ['drop stored bytes', stored, v.stored],
    ['drop opened', opened, `${JSON.stringify(offer)} ${v.data}`],
  ];
}
