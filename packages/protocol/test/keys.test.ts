/**
 * The key schedule (keys.ts) and key confirmation (confirm.ts), driven by vectors/keys.json: one Portunus
 * handshake with fixed inputs, from CPace through every derived key to both confirmation MACs.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../src/bytes.js';
import { checkConfirmation, confirmationMac } from '../src/confirm.js';
import type { Transcript } from '../src/confirm.js';
import { abilitiesAd, cpaceCi, cpaceFinish, cpaceStart, lvCat } from '../src/cpace.js';
import { asKey, deriveSessionKeys, directionalKeys, formatVerifier, KEY_LABELS } from '../src/keys.js';
import type { SessionKeys } from '../src/keys.js';
import vector from './vectors/keys.json' with { type: 'json' };

const { inputs } = vector;
const sid = fromHex(inputs.sid);
const isk = fromHex(vector.cpace.isk);

interface Side {
  prs: string;
  abilities: string[];
  random: string;
}

/**
 * Runs CPace between a (initiator) and b (responder) and derives both sides' keys; `tamper` lets the relay
 * rewrite b's view of a's AD in transit.
 */
function handshake(a: Side, b: Side, tamper?: { adOfAAsSeenByB: string[] }) {
  const ci = cpaceCi(inputs.relayName);
  const sa = cpaceStart({ prs: utf8(a.prs), ci, sid }, abilitiesAd(a.abilities), () => fromHex(a.random));
  const sb = cpaceStart({ prs: utf8(b.prs), ci, sid }, abilitiesAd(b.abilities), () => fromHex(b.random));
  const adaAtB = tamper ? abilitiesAd(tamper.adOfAAsSeenByB) : sa.ad;
  const keysA = deriveSessionKeys(cpaceFinish(sa, 'initiator', { y: sb.y, ad: sb.ad }, sid), sid);
  const keysB = deriveSessionKeys(cpaceFinish(sb, 'responder', { y: sa.y, ad: adaAtB }, sid), sid);
  const tA: Transcript = { ya: sa.y, ada: sa.ad, yb: sb.y, adb: sb.ad };
  const tB: Transcript = { ya: sa.y, ada: adaAtB, yb: sb.y, adb: sb.ad };
  return { keysA, keysB, tA, tB };
}

const sideA: Side = { prs: inputs.prs, abilities: inputs.adA, random: inputs.randomA };
const sideB: Side = { prs: inputs.prs, abilities: inputs.adB, random: inputs.randomB };

/** Each side checks the MAC the other sent, under its own keys and its own view of the transcript. */
function confirmations(h: ReturnType<typeof handshake>) {
  const macA = confirmationMac(h.keysA, 'a', h.tA);
  const macB = confirmationMac(h.keysB, 'b', h.tB);
  return {
    bAcceptsA: checkConfirmation(h.keysB, 'a', h.tB, macA),
    aAcceptsB: checkConfirmation(h.keysA, 'b', h.tA, macB),
  };
}

function allKeys(keys: SessionKeys): Uint8Array[] {
  return [keys.confirm.a, keys.confirm.b, keys.message.a, keys.message.b, keys.data.a, keys.data.b, keys.binding];
}

describe('keys.json vector', () => {
  it('the CPace run gives the recorded CI, ADs, shares and ISK', () => {
    expect(toHex(cpaceCi(inputs.relayName))).toBe(vector.cpace.ci);
    expect(toHex(abilitiesAd(inputs.adA))).toBe(vector.cpace.ada);
    expect(toHex(abilitiesAd(inputs.adB))).toBe(vector.cpace.adb);
    const { tA, tB } = handshake(sideA, sideB);
    expect(toHex(tA.ya)).toBe(vector.cpace.ya);
    expect(toHex(tA.yb)).toBe(vector.cpace.yb);
    expect(tB).toEqual(tA);
    const ci = cpaceCi(inputs.relayName);
    const ada = fromHex(vector.cpace.ada);
    const share = cpaceStart({ prs: utf8(inputs.prs), ci, sid }, ada, () => fromHex(inputs.randomA));
    const iskA = cpaceFinish(share, 'initiator', { y: fromHex(vector.cpace.yb), ad: fromHex(vector.cpace.adb) }, sid);
    expect(toHex(iskA)).toBe(vector.cpace.isk);
  });

  it('every label is HKDF-SHA-256(ikm = ISK, salt = sid, info = "portunus/1 " + label, 32)', () => {
    expect(Object.values(KEY_LABELS).sort()).toEqual(Object.keys(vector.keys).sort());
    for (const [label, expected] of Object.entries(vector.keys)) {
      expect(toHex(hkdf(sha256, isk, sid, utf8(`portunus/1 ${label}`), 32)), label).toBe(expected);
    }
  });

  it('deriveSessionKeys returns each key under its purpose and direction', () => {
    const keys = deriveSessionKeys(isk, sid);
    expect(toHex(keys.confirm.a)).toBe(vector.keys['confirm a']);
    expect(toHex(keys.confirm.b)).toBe(vector.keys['confirm b']);
    expect(toHex(keys.message.a)).toBe(vector.keys['message a']);
    expect(toHex(keys.message.b)).toBe(vector.keys['message b']);
    expect(toHex(keys.data.a)).toBe(vector.keys['data a']);
    expect(toHex(keys.data.b)).toBe(vector.keys['data b']);
    expect(toHex(keys.binding)).toBe(vector.keys.binding);
    expect(keys.verifier).toBe(vector.verifier);
    expect(formatVerifier(fromHex(vector.keys.verify))).toBe(vector.verifier);
  });

  it('confirmation MACs: HMAC-SHA-256(confirm_X, lv_cat("portunus/1 confirm", X, Ya, ADa, Yb, ADb))', () => {
    const keys = deriveSessionKeys(isk, sid);
    const t: Transcript = {
      ya: fromHex(vector.cpace.ya),
      ada: fromHex(vector.cpace.ada),
      yb: fromHex(vector.cpace.yb),
      adb: fromHex(vector.cpace.adb),
    };
    expect(toHex(confirmationMac(keys, 'a', t))).toBe(vector.confirm.macA);
    expect(toHex(confirmationMac(keys, 'b', t))).toBe(vector.confirm.macB);
    const layout = (x: string) => lvCat(utf8('portunus/1 confirm'), utf8(x), t.ya, t.ada, t.yb, t.adb);
    expect(toHex(hmac(sha256, fromHex(vector.keys['confirm a']), layout('a')))).toBe(vector.confirm.macA);
    expect(toHex(hmac(sha256, fromHex(vector.keys['confirm b']), layout('b')))).toBe(vector.confirm.macB);
  });
});

describe('key schedule', () => {
  it('all seven keys and the verify output are distinct, 32 bytes each', () => {
    const keys = deriveSessionKeys(isk, sid);
    const hexes = allKeys(keys).map(toHex);
    expect(allKeys(keys).every((k) => k.length === 32)).toBe(true);
    expect(new Set([...hexes, vector.keys.verify]).size).toBe(8);
  });

  it('another sid (salt) gives other keys from the same ISK', () => {
    const other = deriveSessionKeys(isk, new Uint8Array(16));
    expect(toHex(other.data.a)).not.toBe(vector.keys['data a']);
    expect(other.verifier).not.toBe(vector.verifier);
  });

  it('rejects an ISK that is not 64 bytes', () => {
    expect(() => deriveSessionKeys(isk.subarray(0, 32), sid)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it('directionalKeys sends with its own letter and receives with the peer one', () => {
    const keys = deriveSessionKeys(isk, sid);
    const a = directionalKeys(keys, 'a');
    const b = directionalKeys(keys, 'b');
    expect(a.send.data).toBe(keys.data.a);
    expect(a.receive.message).toBe(keys.message.b);
    expect(b.send).toEqual(a.receive);
    expect(b.receive).toEqual(a.send);
  });

  it('asKey only tags 32-byte values', () => {
    expect(toHex(asKey('data', new Uint8Array(32).fill(7)))).toBe('07'.repeat(32));
    expect(() => asKey('data', new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});

describe('verifier', () => {
  it('encodes the first 40 bits, most significant first, as Crockford base32 "XXXX-XXXX"', () => {
    expect(formatVerifier(new Uint8Array(5))).toBe('0000-0000');
    expect(formatVerifier(new Uint8Array(5).fill(0xff))).toBe('ZZZZ-ZZZZ');
    // 0x00 0x00 0x00 0x00 0x21 = ...00001 00001: the last two symbols are 1 and 1.
    expect(formatVerifier(Uint8Array.from([0, 0, 0, 0, 0x21]))).toBe('0000-0011');
    // 0x84 = 10000 100..: 16 ('G') then 10000 again; the sixth byte is ignored.
    expect(formatVerifier(Uint8Array.from([0x84, 0, 0, 0, 0, 0xff]))).toBe('GG00-0000');
    expect(deriveSessionKeys(isk, sid).verifier).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
  });

  it('both sides of one handshake show the same verifier', () => {
    const { keysA, keysB } = handshake(sideA, sideB);
    expect(keysA.verifier).toBe(keysB.verifier);
  });
});

describe('key confirmation', () => {
  it('same code: each side accepts the other MAC', () => {
    expect(confirmations(handshake(sideA, sideB))).toEqual({ bAcceptsA: true, aAcceptsB: true });
  });

  it('different codes (PRS): both MACs fail', () => {
    const h = handshake(sideA, { ...sideB, prs: '7-H7K29B' });
    expect(confirmations(h)).toEqual({ bAcceptsA: false, aAcceptsB: false });
  });

  it('an ability stripped in transit (downgrade): both MACs fail', () => {
    const h = handshake(sideA, sideB, { adOfAAsSeenByB: ['send', 'relay-v1'] });
    expect(confirmations(h)).toEqual({ bAcceptsA: false, aAcceptsB: false });
  });

  it('a reflected MAC or swapped sides never verify', () => {
    const { keysA, keysB, tA, tB } = handshake(sideA, sideB);
    const macA = confirmationMac(keysA, 'a', tA);
    // a's own MAC sent back to a, claiming to be from b.
    expect(checkConfirmation(keysA, 'b', tA, macA)).toBe(false);
    // b checking a's MAC as if b had sent it.
    expect(checkConfirmation(keysB, 'b', tB, macA)).toBe(false);
    expect(toHex(macA)).not.toBe(toHex(confirmationMac(keysA, 'b', tA)));
  });

  it('a swapped transcript, a truncated MAC or a flipped bit fail', () => {
    const { keysA, keysB, tA, tB } = handshake(sideA, sideB);
    const macA = confirmationMac(keysA, 'a', tA);
    const swapped: Transcript = { ya: tB.yb, ada: tB.adb, yb: tB.ya, adb: tB.ada };
    expect(checkConfirmation(keysB, 'a', swapped, macA)).toBe(false);
    expect(checkConfirmation(keysB, 'a', tB, macA.subarray(0, 16))).toBe(false);
    const flipped = macA.slice();
    flipped[31]! ^= 1;
    expect(checkConfirmation(keysB, 'a', tB, flipped)).toBe(false);
    expect(checkConfirmation(keysB, 'a', tB, macA)).toBe(true);
  });
});
