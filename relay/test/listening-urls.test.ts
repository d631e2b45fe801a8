import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { listeningUrls, type Interfaces } from '../src/listening-urls.js';

function info(address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo {
  const common = { address, netmask: '', mac: '00:00:00:00:00:00', internal, cidr: null };
  return family === 'IPv4' ? { ...common, family } : { ...common, family, scopeid: 0 };
}

const INTERFACES: Interfaces = {
  lo: [info('127.0.0.1', 'IPv4', true), info('::1', 'IPv6', true)],
  eth0: [info('192.168.1.5', 'IPv4'), info('fe80::1c2:3ff:fe4:5', 'IPv6'), info('2001:db8::5', 'IPv6')],
  wlan0: [info('10.0.0.7', 'IPv4')],
};

describe('listeningUrls', () => {
  it('names every non-internal IPv4 address plus 127.0.0.1 when bound to 0.0.0.0', () => {
    expect(listeningUrls('0.0.0.0', 4747, INTERFACES)).toEqual([
      'ws://192.168.1.5:4747',
      'ws://10.0.0.7:4747',
      'ws://127.0.0.1:4747',
    ]);
  });

  it('adds routable IPv6 addresses (not link-local ones) when bound to ::', () => {
    expect(listeningUrls('::', 4747, INTERFACES)).toEqual([
      'ws://192.168.1.5:4747',
      'ws://[2001:db8::5]:4747',
      'ws://10.0.0.7:4747',
      'ws://127.0.0.1:4747',
    ]);
  });

  it('names the one address a relay is bound to', () => {
    expect(listeningUrls('127.0.0.1', 9000, INTERFACES)).toEqual(['ws://127.0.0.1:9000']);
    expect(listeningUrls('::1', 9000, INTERFACES)).toEqual(['ws://[::1]:9000']);
    expect(listeningUrls('relay.example.org', 9000, INTERFACES)).toEqual(['ws://relay.example.org:9000']);
  });

  it('still names 127.0.0.1 on a machine without a network', () => {
    expect(listeningUrls('0.0.0.0', 4747, { lo: [info('127.0.0.1', 'IPv4', true)] })).toEqual(['ws://127.0.0.1:4747']);
  });
});
