import { describe, expect, it } from 'vitest';
import { Limits } from '../src/limits.js';
import { addressKey, clientAddress } from '../src/address.js';
import type { IncomingMessage } from 'node:http';

describe('Limits', () => {
  it('caps connections in total and per address, and releases them', () => {
    const l = new Limits({ maxConnections: 3, maxConnectionsPerIp: 2, failedClaimsPerMinute: 5 });
    expect(l.admit('a')).toBe('ok');
    expect(l.admit('a')).toBe('ok');
    expect(l.admit('a')).toBe('too-many-from-address');
    expect(l.admit('b')).toBe('ok');
    expect(l.admit('c')).toBe('too-many-connections');
    expect(l.connections).toBe(3);
    l.release('a');
    expect(l.admit('c')).toBe('ok');
    l.release('unknown');
    expect(l.connections).toBe(3);
  });

  it('allows 5 failed claims per minute per address', () => {
    const l = new Limits({ maxConnections: 10, maxConnectionsPerIp: 10, failedClaimsPerMinute: 5 });
    for (let i = 0; i < 5; i++) {
      expect(l.claimAllowed('x', i * 1000)).toBe(true);
      l.recordFailedClaim('x', i * 1000);
    }
    expect(l.claimAllowed('x', 5000)).toBe(false);
    expect(l.claimAllowed('y', 5000)).toBe(true);
    expect(l.claimAllowed('x', 59_999)).toBe(false);
    // The oldest failure (t=0) leaves the window at t=60 s: one more attempt.
    expect(l.claimAllowed('x', 60_000)).toBe(true);
    l.recordFailedClaim('x', 60_000);
    expect(l.claimAllowed('x', 60_500)).toBe(false);
    expect(l.claimAllowed('x', 61_000)).toBe(true);
  });

  it('forgets old failures and bounds the number of tracked addresses', () => {
    const l = new Limits({ maxConnections: 1, maxConnectionsPerIp: 1, failedClaimsPerMinute: 1, maxTrackedAddresses: 3 });
    for (const a of ['a', 'b', 'c', 'd']) l.recordFailedClaim(a, 0);
    expect(l.trackedAddresses).toBe(3);
    expect(l.claimAllowed('a', 1)).toBe(true); // evicted, oldest first
    expect(l.claimAllowed('d', 1)).toBe(false);
    l.sweep(60_000);
    expect(l.trackedAddresses).toBe(0);
  });
});

function request(remoteAddress: string, xff?: string | string[]): IncomingMessage {
  return { socket: { remoteAddress }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } } as unknown as IncomingMessage;
}

describe('client address', () => {
  it('ignores X-Forwarded-For unless the proxy is trusted', () => {
    expect(clientAddress(request('10.0.0.1', '1.2.3.4'), false)).toBe('10.0.0.1');
  });

  it('takes the last X-Forwarded-For entry behind a trusted proxy', () => {
    expect(clientAddress(request('10.0.0.1', '6.6.6.6, 1.2.3.4'), true)).toBe('1.2.3.4');
    expect(clientAddress(request('10.0.0.1', ['9.9.9.9', '5.5.5.5 , 2001:db8::1']), true)).toBe('2001:db8::1');
    expect(clientAddress(request('10.0.0.1', '1.2.3.4, not-an-ip'), true)).toBe('10.0.0.1');
    expect(clientAddress(request('10.0.0.1'), true)).toBe('10.0.0.1');
  });

  it('keys IPv6 by /64 and IPv4-mapped addresses by IPv4', () => {
    expect(addressKey('1.2.3.4')).toBe('1.2.3.4');
    expect(addressKey('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(addressKey('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:0db8:0000:0001:bbbb:cccc:dddd:eeee')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});
