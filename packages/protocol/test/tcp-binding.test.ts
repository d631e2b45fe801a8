/**
 * The direct TCP binding MAC (binding.ts) against vectors/tcp-binding.json, re-derived independently with
 * @noble/hashes and a hand-built lv_cat, plus the properties the handshake relies on.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { checkTcpBindingMac, TCP_BINDING_LABEL, tcpBindingMac } from '../src/binding.js';
import { concatBytes, fromHex, toHex, utf8 } from '../src/bytes.js';
import { asKey } from '../src/keys.js';
import vector from './vectors/tcp-binding.json' with { type: 'json' };

const key = asKey('binding', fromHex(vector.key));
const dialer = fromHex(vector.dialerNonce);
const listener = fromHex(vector.listenerNonce);
type Role = 'send' | 'receive';
const cases = vector.cases.map((c) => ({ role: c.role as Role, mac: c.mac }));

/** lv_cat for parts shorter than 128 bytes: one length byte each (PROTOCOL.md §3.3 notation). */
function lvShort(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(...parts.flatMap((p) => [Uint8Array.of(p.length), p]));
}

describe('TCP binding MAC (PROTOCOL.md §6.3)', () => {
  it('uses the documented label', () => {
    expect(TCP_BINDING_LABEL).toBe(vector.label);
  });

  it.each(cases)('matches the vector for role $role, and an independent HMAC of the documented layout', (c) => {
    expect(toHex(tcpBindingMac(key, c.role, dialer, listener))).toBe(c.mac);
    expect(toHex(hmac(sha256, key, lvShort(utf8(vector.label), utf8(c.role), dialer, listener)))).toBe(c.mac);
  });

  it("verifies the peer's MAC", () => {
    for (const c of cases) expect(checkTcpBindingMac(key, c.role, dialer, listener, fromHex(c.mac))).toBe(true);
  });

  it('fails for a reflected MAC, another nonce, swapped nonces, another key or a flipped bit', () => {
    const mac = fromHex(cases[0]!.mac);
    expect(checkTcpBindingMac(key, 'receive', dialer, listener, mac)).toBe(false); // reflected to its author
    const fresh = Uint8Array.from(listener, (b) => b ^ 0x55);
    expect(checkTcpBindingMac(key, 'send', dialer, fresh, mac)).toBe(false); // replayed on another connection
    expect(checkTcpBindingMac(key, 'send', listener, dialer, mac)).toBe(false);
    expect(checkTcpBindingMac(asKey('binding', new Uint8Array(32)), 'send', dialer, listener, mac)).toBe(false);
    const flipped = Uint8Array.from(mac);
    flipped[0]! ^= 1;
    expect(checkTcpBindingMac(key, 'send', dialer, listener, flipped)).toBe(false);
    expect(checkTcpBindingMac(key, 'send', dialer, listener, mac.subarray(0, 31))).toBe(false);
  });

  it('refuses nonces that are not 16 bytes', () => {
    expect(() => tcpBindingMac(key, 'send', new Uint8Array(15), listener)).toThrow(/16 bytes/);
  });
});
