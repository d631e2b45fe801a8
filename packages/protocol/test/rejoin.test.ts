/**
 * Meeting again after a lost relay connection (rejoin.ts, PROTOCOL.md §2.13): the reconnect id and key of the key
 * schedule, and the rejoin MACs, driven by vectors/keys.json; the messages' exact bytes and their parsing.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../src/bytes.js';
import { lvCat } from '../src/cpace.js';
import { deriveSessionKeys } from '../src/keys.js';
import {
  checkRejoinMac,
  encodeRejoinMessage,
  MAX_REJOIN_BODY_BYTES,
  parseRejoinMessage,
  rejoinMac,
  type RejoinTranscript,
} from '../src/rejoin.js';
import vector from './vectors/keys.json' with { type: 'json' };

const keys = deriveSessionKeys(fromHex(vector.cpace.isk), fromHex(vector.inputs.sid));
const t: RejoinTranscript = {
  sid: fromHex(vector.rejoin.sid),
  nonceA: fromHex(vector.rejoin.nonceA),
  nonceB: fromHex(vector.rejoin.nonceB),
};
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('keys.json rejoin vector', () => {
  it('derives the reconnect id and key under their labels', () => {
    expect(toHex(keys.reconnect.id)).toBe(vector.keys['reconnect id']);
    expect(toHex(keys.reconnect.key)).toBe(vector.keys.reconnect);
    expect(keys.reconnect.id).toHaveLength(32);
  });

  it('mac_X = HMAC-SHA-256(reconnect, lv_cat("portunus/1 rejoin", X, sid, nonce_a, nonce_b, utf8(next)))', () => {
    const { nextA, nextB, macA, macB } = vector.rejoin;
    expect(toHex(rejoinMac(keys.reconnect.key, 'a', t, nextA))).toBe(macA);
    expect(toHex(rejoinMac(keys.reconnect.key, 'b', t, nextB))).toBe(macB);
    const layout = (x: string, next: number) =>
      lvCat(utf8('portunus/1 rejoin'), utf8(x), t.sid, t.nonceA, t.nonceB, utf8(String(next)));
    expect(toHex(hmac(sha256, fromHex(vector.keys.reconnect), layout('a', nextA)))).toBe(macA);
    expect(toHex(hmac(sha256, fromHex(vector.keys.reconnect), layout('b', nextB)))).toBe(macB);
  });

  it('a MAC checks only for its own side, transcript and index', () => {
    const mac = fromHex(vector.rejoin.macA);
    expect(checkRejoinMac(keys.reconnect.key, 'a', t, 3, mac)).toBe(true);
    expect(checkRejoinMac(keys.reconnect.key, 'b', t, 3, mac)).toBe(false); // reflected to its author
    expect(checkRejoinMac(keys.reconnect.key, 'a', t, 4, mac)).toBe(false); // another index
    expect(checkRejoinMac(keys.reconnect.key, 'a', { ...t, nonceB: t.nonceA }, 3, mac)).toBe(false); // replayed
    const other = deriveSessionKeys(new Uint8Array(64), fromHex(vector.inputs.sid));
    expect(checkRejoinMac(other.reconnect.key, 'a', t, 3, mac)).toBe(false); // no key, no MAC
  });
});

describe('rejoin messages', () => {
  it('encode to their exact JSON and parse back', () => {
    const nonce = fromHex(vector.rejoin.nonceA);
    const rejoin = encodeRejoinMessage({ type: 'rejoin', nonce });
    expect(text(rejoin)).toBe('{"type":"rejoin","nonce":"ABEiM0RVZneImaq7zN3u_w"}');
    expect(parseRejoinMessage(rejoin)).toEqual({ type: 'rejoin', nonce });
    const mac = fromHex(vector.rejoin.macB);
    const confirm = encodeRejoinMessage({ type: 'rejoin-confirm', next: 5, mac });
    expect(text(confirm)).toMatch(/^\{"type":"rejoin-confirm","next":5,"mac":"[\w-]{43}"\}$/);
    expect(parseRejoinMessage(confirm)).toEqual({ type: 'rejoin-confirm', next: 5, mac });
  });

  it('refuses anything malformed, too large or of another type', () => {
    const bad = [
      '{"type":"rejoin","nonce":"AAEC"}',
      '{"type":"rejoin"}',
      '{"type":"rejoin-confirm","next":-1,"mac":"' + 'A'.repeat(43) + '"}',
      '{"type":"rejoin-confirm","next":1.5,"mac":"' + 'A'.repeat(43) + '"}',
      '{"type":"rejoin-confirm","next":1}',
      '{"type":"pake"}',
      'not json',
      '[]',
      `{"type":"rejoin","nonce":"ABEiM0RVZneImaq7zN3u_w","pad":"${'x'.repeat(MAX_REJOIN_BODY_BYTES)}"}`,
    ];
    for (const body of bad) expect(parseRejoinMessage(utf8(body)), body).toBeUndefined();
    expect(parseRejoinMessage(Uint8Array.of(0xff, 0xfe))).toBeUndefined();
  });
});
