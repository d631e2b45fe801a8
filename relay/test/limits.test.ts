import { describe, expect, it } from 'vitest';
import { Limits } from '../src/limits.js';
import { addressKey, clientAddress, invalidProxyEntry, proxyTrust } from '../src/address.js';
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
    const l = new Limits({
      maxConnections: 1,
      maxConnectionsPerIp: 1,
      failedClaimsPerMinute: 1,
      maxTrackedAddresses: 3,
    });
    for (const a of ['a', 'b', 'c', 'd']) l.recordFailedClaim(a, 0);
    expect(l.trackedAddresses).toBe(3);
    expect(l.claimAllowed('a', 1)).toBe(true); // evicted, oldest first
    expect(l.claimAllowed('d', 1)).toBe(false);
    l.sweep(60_000);
    expect(l.trackedAddresses).toBe(0);
  });
});

function request(remoteAddress: string, xff?: string | string[]): IncomingMessage {
  return {
    socket: { remoteAddress },
    headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
  } as unknown as IncomingMessage;
}

describe('client address', () => {
  it('ignores X-Forwarded-For unless the proxy is trusted', () => {
    expect(clientAddress(request('10.0.0.1', '1.2.3.4'), proxyTrust(false))).toBe('10.0.0.1');
  });

  it('bare --trust-proxy: takes the last X-Forwarded-For entry (the socket peer is the one trusted hop)', () => {
    const trust = proxyTrust(true);
    expect(clientAddress(request('10.0.0.1', '6.6.6.6, 1.2.3.4'), trust)).toBe('1.2.3.4');
    expect(clientAddress(request('10.0.0.1', ['9.9.9.9', '5.5.5.5 , 2001:db8::1']), trust)).toBe('2001:db8::1');
    expect(clientAddress(request('10.0.0.1', '1.2.3.4, not-an-ip'), trust)).toBe('10.0.0.1');
    expect(clientAddress(request('10.0.0.1'), trust)).toBe('10.0.0.1');
    expect(clientAddress(request('10.0.0.1', `${'1.1.1.1, '.repeat(500)}1.2.3.4`), trust)).toBe('10.0.0.1');
  });

  it('a proxy list: walks X-Forwarded-For from the right past trusted proxies to the first other address', () => {
    const trust = proxyTrust(['10.0.0.0/8', '192.0.2.7', '2001:db8:aa::/48']);
    // Client → CDN (192.0.2.7) → load balancer (10.1.1.1) → relay: two hops, each appended what it saw.
    expect(clientAddress(request('10.1.1.1', '203.0.113.9, 192.0.2.7'), trust)).toBe('203.0.113.9');
    // Whatever the client wrote itself stays left of the address the first proxy saw.
    expect(clientAddress(request('10.1.1.1', '198.51.100.1, 203.0.113.9, 192.0.2.7'), trust)).toBe('203.0.113.9');
    // One hop, IPv6 and IPv4-mapped peers.
    expect(clientAddress(request('2001:db8:aa:1::5', '2001:db8:bb::1'), trust)).toBe('2001:db8:bb::1');
    expect(clientAddress(request('::ffff:10.2.3.4', '203.0.113.10'), trust)).toBe('203.0.113.10');
    // A peer that is not a trusted proxy: its header counts for nothing.
    expect(clientAddress(request('203.0.113.66', '198.51.100.1'), trust)).toBe('203.0.113.66');
    // Only trusted proxies in the header: the leftmost one is the best answer.
    expect(clientAddress(request('10.1.1.1', '10.9.9.9, 192.0.2.7'), trust)).toBe('10.9.9.9');
    // A malformed entry ends the walk at the last trusted proxy.
    expect(clientAddress(request('10.1.1.1', '203.0.113.9, bogus, 192.0.2.7'), trust)).toBe('192.0.2.7');
    expect(clientAddress(request('10.1.1.1'), trust)).toBe('10.1.1.1');
  });

  it('names the malformed entries of a trust-proxy list', () => {
    expect(invalidProxyEntry(['10.0.0.0/8', '::1', '2001:db8::/32', '192.0.2.1/32'])).toBeUndefined();
    for (const bad of [
      '10.0.0.0/33',
      '2001:db8::/129',
      'proxy.example',
      '10.0.0.1/8/8',
      '10.0.0.0/',
      '',
      '10.0.0.0/-1',
    ]) {
      expect(invalidProxyEntry(['10.0.0.1', bad])).toBe(bad);
    }
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
