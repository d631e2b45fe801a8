/**
 * The direct-path binding MAC (binding.ts) against vectors/binding.json, re-derived independently with
 * @noble/hashes and a hand-built lv_cat, plus the properties the check relies on.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { BINDING_LABEL, bindingMac, checkBindingMac } from '../src/binding.js';
import { concatBytes, fromHex, toHex, utf8 } from '../src/bytes.js';
import { asKey } from '../src/keys.js';
import vector from './vectors/binding.json' with { type: 'json' };

const key = asKey('binding', fromHex(vector.key));
type Role = 'send' | 'receive';
const cases = vector.cases.map((c) => ({
  role: c.role as Role,
  local: fromHex(c.local),
  remote: fromHex(c.remote),
  mac: c.mac,
}));

/** lv_cat for parts shorter than 128 bytes: one length byte each (PROTOCOL.md §3.3 notation). */
function lvShort(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(...parts.flatMap((p) => [Uint8Array.of(p.length), p]));
}

describe('binding MAC (PROTOCOL.md §6.4)', () => {
  it('uses the documented label', () => {
    expect(BINDING_LABEL).toBe(vector.label);
  });

  it.each(cases)('matches the vector for role $role, and an independent HMAC of the documented layout', (c) => {
    expect(toHex(bindingMac(key, c.role, c.local, c.remote))).toBe(c.mac);
    const independent = hmac(sha256, key, lvShort(utf8(vector.label), utf8(c.role), c.local, c.remote));
    expect(toHex(independent)).toBe(c.mac);
  });

  it("verifies the peer's MAC from the certificates as this side saw them", () => {
    const [send, receive] = cases as [(typeof cases)[0], (typeof cases)[0]];
    // The receiver checks the sender's MAC: the peer's certificate is the sender's local one, ours is its remote.
    expect(checkBindingMac(key, 'send', receive.remote, receive.local, fromHex(send.mac))).toBe(true);
    expect(checkBindingMac(key, 'receive', send.remote, send.local, fromHex(receive.mac))).toBe(true);
  });

  it('fails for a reflected MAC, a swapped certificate, another key or a flipped bit', () => {
    const [send] = cases as [(typeof cases)[0]];
    const mac = fromHex(send.mac);
    expect(checkBindingMac(key, 'receive', send.local, send.remote, mac)).toBe(false); // reflected to its author
    const other = Uint8Array.from(send.local, (b) => b ^ 0xff);
    expect(checkBindingMac(key, 'send', other, send.remote, mac)).toBe(false); // a man in the middle's certificate
    expect(checkBindingMac(key, 'send', send.local, other, mac)).toBe(false);
    expect(checkBindingMac(asKey('binding', new Uint8Array(32)), 'send', send.local, send.remote, mac)).toBe(false);
    const flipped = Uint8Array.from(mac);
    flipped[31]! ^= 1;
    expect(checkBindingMac(key, 'send', send.local, send.remote, flipped)).toBe(false);
    expect(checkBindingMac(key, 'send', send.local, send.remote, mac.subarray(0, 31))).toBe(false);
  });

  it('refuses fingerprints that are not SHA-256 sized', () => {
    expect(() => bindingMac(key, 'send', new Uint8Array(20), new Uint8Array(32))).toThrow(/32 bytes/);
  });
});
