/**
 * CPace, cipher suite CPACE-RISTR255-SHA512: ristretto255 (RFC 9496) with SHA-512, exactly as in
 * draft-irtf-cfrg-cpace. Section numbers below are those of draft -21; test/cpace.test.ts reproduces its
 * Appendix B.3 vectors.
 *
 * Portunus runs CPace in the initiator-responder setting: relay side "a" is the initiator A, side "b" the
 * responder B. The symmetric ("parallel") ISK is implemented too, only so that both draft vectors are tested.
 */
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, constantTimeEqual, utf8 } from './bytes.js';
import type { RandomBytes } from './bytes.js';
import { createError } from './errors.js';
import { PROTOCOL_LABEL } from './version.js';

type RistrettoPoint = InstanceType<typeof ristretto255.Point>;

/** G_Ristretto255.DSI (§8.3). Byte constants stay module-private so no caller can mutate them. */
const CPACE_DSI = utf8('CPaceRistretto255');
/** G.DSI || b"_ISK", the domain separator of the ISK hash (§7.2). */
const CPACE_DSI_ISK = utf8('CPaceRistretto255_ISK');
/** H.s_in_bytes for SHA-512: its input block size (§6.2). */
export const SHA512_S_IN_BYTES = 128;
/** Length of an encoded ristretto255 element and of a scalar. */
export const ELEMENT_BYTES = 32;
/** Length of ISK: H.b_in_bytes for SHA-512. */
export const ISK_BYTES = 64;
/** G.I: the encoding of the neutral element, returned by scalar_mult_vfy on every failure (§8.3). */
const NEUTRAL_ELEMENT = new Uint8Array(ELEMENT_BYTES);

/** prepend_len (Appendix A.1.1): the LEB128 encoding of len(data), then data. */
export function prependLen(data: Uint8Array): Uint8Array {
  const prefix: number[] = [];
  let length = data.length;
  do {
    const low = length & 0x7f;
    length = Math.floor(length / 128);
    prefix.push(length === 0 ? low : low | 0x80);
  } while (length !== 0);
  return concatBytes(Uint8Array.from(prefix), data);
}

/** lv_cat (Appendix A.1.3): every argument with its length prepended, concatenated. */
export function lvCat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(...parts.map(prependLen));
}

/**
 * generator_string (§8.1, Appendix A.2). The zero padding makes DSI, PRS and the padding fill the first hash
 * block, so for short PRS the amount hashed does not depend on the password length.
 */
export function generatorString(
  dsi: Uint8Array,
  prs: Uint8Array,
  ci: Uint8Array,
  sid: Uint8Array,
  sInBytes: number,
): Uint8Array {
  const lenZpad = Math.max(0, sInBytes - 1 - prependLen(prs).length - prependLen(dsi).length);
  return lvCat(dsi, prs, new Uint8Array(lenZpad), ci, sid);
}

/** G.calculate_generator (§8.3): SHA-512 of the generator string, then RFC 9496 §4.3.4 element derivation. */
export function calculateGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): RistrettoPoint {
  const genStrHash = sha512(generatorString(CPACE_DSI, prs, ci, sid, SHA512_S_IN_BYTES));
  // deriveToCurve is RFC 9496 element derivation on 64 uniform bytes — not hash_to_ristretto255, which would
  // first run expand_message_xmd with its own DST.
  const derive = ristretto255_hasher.deriveToCurve;
  if (derive === undefined) throw createError('INTERNAL', 'ristretto255 element derivation is unavailable');
  return derive(genStrHash);
}

/** Draws that may all come out zero before sample_scalar gives up: only a broken RandomBytes gets there. */
const MAX_SCALAR_DRAWS = 4;

/**
 * G.sample_scalar (§8.3, the RECOMMENDED way): 32 random bytes, bits above group_size_bits (252) cleared, read
 * little-endian. The result is below 2^252 < group order; zero is redrawn because it would make Y the identity.
 */
export function sampleScalar(random: RandomBytes): bigint {
  for (let draw = 0; draw < MAX_SCALAR_DRAWS; draw++) {
    const bytes = random(ELEMENT_BYTES).slice(0, ELEMENT_BYTES);
    if (bytes.length !== ELEMENT_BYTES) break;
    bytes[ELEMENT_BYTES - 1]! &= 0x0f;
    const scalar = bytesToNumberLE(bytes);
    if (scalar !== 0n) return scalar;
  }
  throw createError('INTERNAL', 'the random source returned no usable CPace scalar');
}

/** G.scalar_mult (§8.3): encode(y * g). */
export function scalarMult(y: bigint, g: RistrettoPoint): Uint8Array {
  return g.multiply(y).toBytes();
}

/**
 * G.scalar_mult_vfy (§8.3): decode X (non-canonical or invalid encodings fail), multiply, encode. Returns G.I
 * when decoding fails or the product is the neutral element; the caller MUST abort on G.I (§7.2).
 */
export function scalarMultVfy(y: bigint, encoded: Uint8Array): Uint8Array {
  let point: RistrettoPoint;
  try {
    point = ristretto255.Point.fromBytes(encoded);
  } catch {
    return NEUTRAL_ELEMENT.slice();
  }
  // The neutral element decodes fine and multiplies to G.I; intermediateSessionKey aborts on that K.
  return point.multiply(y).toBytes();
}

/** Lexicographic order of byte strings (Appendix A.3.1). */
export function lexicographicallyLarger(bytes1: Uint8Array, bytes2: Uint8Array): boolean {
  const minLen = Math.min(bytes1.length, bytes2.length);
  for (let m = 0; m < minLen; m++) {
    if (bytes1[m]! !== bytes2[m]!) return bytes1[m]! > bytes2[m]!;
  }
  return bytes1.length > bytes2.length;
}

/** o_cat (Appendix A.3.2): b"oc", then the larger string first. */
export function oCat(bytes1: Uint8Array, bytes2: Uint8Array): Uint8Array {
  const [first, second] = lexicographicallyLarger(bytes1, bytes2) ? [bytes1, bytes2] : [bytes2, bytes1];
  return concatBytes(utf8('oc'), first, second);
}

/** transcript_ir (Appendix A.3.4): A's message first, as the initiator-responder setting fixes the order. */
export function transcriptIr(ya: Uint8Array, ada: Uint8Array, yb: Uint8Array, adb: Uint8Array): Uint8Array {
  return concatBytes(lvCat(ya, ada), lvCat(yb, adb));
}

/** transcript_oc (Appendix A.3.6): ordered concatenation, for the symmetric setting. */
export function transcriptOc(ya: Uint8Array, ada: Uint8Array, yb: Uint8Array, adb: Uint8Array): Uint8Array {
  return oCat(lvCat(ya, ada), lvCat(yb, adb));
}

/**
 * ISK = H.hash(lv_cat(G.DSI || b"_ISK", sid, K) || transcript) (§7.2). Throws PAKE_FAILED when K = G.I, the
 * abort condition, so no ISK ever comes from an invalid or neutral peer element.
 */
export function intermediateSessionKey(sid: Uint8Array, k: Uint8Array, transcript: Uint8Array): Uint8Array {
  if (k.length !== ELEMENT_BYTES || constantTimeEqual(k, NEUTRAL_ELEMENT)) {
    throw createError('PAKE_FAILED', 'the peer sent an invalid CPace share');
  }
  return sha512(concatBytes(lvCat(CPACE_DSI_ISK, sid, k), transcript));
}

/** sid_output = H.hash(b"CPaceSidOutput" || transcript) (§10.6); Portunus has a sid, so this is for vectors. */
export function sidOutput(transcript: Uint8Array): Uint8Array {
  return sha512(concatBytes(utf8('CPaceSidOutput'), transcript));
}

export type CpaceRole = 'initiator' | 'responder';

/** PRS: the normalized code; CI: see cpaceCi; sid: the 16 random bytes the relay hands both sides. */
export interface CpaceInputs {
  prs: Uint8Array;
  ci: Uint8Array;
  sid: Uint8Array;
}

/** One side's CPace message (y, ad); the secret scalar stays inside, in a private field. */
export interface CpaceShare {
  readonly y: Uint8Array;
  readonly ad: Uint8Array;
}

/**
 * Immutable, so a sans-IO step() stays a pure function of (state, event). Fresh scalars per session (§10.9) come
 * from cpaceStart drawing a new one every time; the session machine leaves the PAKE state after one peer message.
 */
class Share implements CpaceShare {
  readonly y: Uint8Array;
  readonly ad: Uint8Array;
  // Private fields stay out of JSON.stringify, Object.keys and util.inspect, so a logged share leaks nothing.
  readonly #scalar: bigint;
  readonly #sid: Uint8Array;

  constructor(scalar: bigint, y: Uint8Array, ad: Uint8Array, sid: Uint8Array) {
    this.#scalar = scalar;
    this.y = y;
    this.ad = ad;
    this.#sid = sid;
  }

  static scalarFor(share: Share, sid: Uint8Array): bigint {
    // The sid is hashed into both the generator and ISK; finishing under another sid is a caller bug.
    if (!constantTimeEqual(sid, share.#sid)) throw createError('INTERNAL', 'CPace finished with another sid');
    return share.#scalar;
  }
}

/** §7.2, first step of either side: g = calculate_generator(PRS, CI, sid), y = sample_scalar(), Y = y * g. */
export function cpaceStart(inputs: CpaceInputs, ad: Uint8Array, random: RandomBytes): CpaceShare {
  const g = calculateGenerator(inputs.prs, inputs.ci, inputs.sid);
  const scalar = sampleScalar(random);
  return new Share(scalar, scalarMult(scalar, g), ad.slice(), inputs.sid.slice());
}

/**
 * §7.2, second step: K = scalar_mult_vfy(y, Y_peer), abort if K = G.I, else ISK over transcript_ir with the
 * initiator's message first. Returns ISK (64 bytes); throws PortunusError('PAKE_FAILED') on an invalid or
 * neutral peer element.
 */
export function cpaceFinish(
  share: CpaceShare,
  role: CpaceRole,
  peer: { y: Uint8Array; ad: Uint8Array },
  sid: Uint8Array,
): Uint8Array {
  if (!(share instanceof Share)) throw createError('INTERNAL', 'not a share made by cpaceStart');
  const k = scalarMultVfy(Share.scalarFor(share, sid), peer.y);
  const transcript =
    role === 'initiator'
      ? transcriptIr(share.y, share.ad, peer.y, peer.ad)
      : transcriptIr(peer.y, peer.ad, share.y, share.ad);
  return intermediateSessionKey(sid, k, transcript);
}

/**
 * Portunus CI: lv_cat("portunus/1", relayName). Binds the key to the protocol version and to the relay the
 * client believes it is talking to (the name from the relay's welcome); CI never travels on the wire.
 */
export function cpaceCi(relayName: string): Uint8Array {
  return lvCat(utf8(PROTOCOL_LABEL), utf8(relayName));
}

/**
 * Portunus AD of one side: lv_cat of the UTF-8 of each ability, in the order that side announced them. A relay
 * that strips or reorders an ability changes the ISK, so capability downgrades fail key confirmation.
 */
export function abilitiesAd(abilities: readonly string[]): Uint8Array {
  return lvCat(...abilities.map(utf8));
}
