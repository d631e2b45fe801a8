/** Where announcements and queries go, computed from made-up interface tables. */
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  directedBroadcast,
  ipv4Interfaces,
  MAX_LAN_INTERFACES,
  sendTargets,
  type InterfaceTable,
} from '../../src/lan/targets.js';

function v4(address: string, netmask: string, internal = false): NetworkInterfaceInfo {
  return { address, netmask, family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: null };
}
function v6(address: string): NetworkInterfaceInfo {
  return {
    address,
    netmask: 'ffff:ffff:ffff:ffff::',
    family: 'IPv6',
    mac: '00:00:00:00:00:00',
    internal: false,
    cidr: null,
    scopeid: 0,
  };
}

const LO = { lo: [v4('127.0.0.1', '255.0.0.0', true), v6('::1')] };
const HOME: InterfaceTable = {
  ...LO,
  eth0: [v4('192.168.1.20', '255.255.255.0'), v6('fe80::1')],
  wg0: [v4('10.9.0.2', '255.255.255.255')],
};

describe('LAN targets', () => {
  it('uses IPv4 interfaces only', () => {
    expect(ipv4Interfaces(HOME).map((i) => i.address)).toEqual(['127.0.0.1', '192.168.1.20', '10.9.0.2']);
  });

  it('with --bind, only the interface holding that address', () => {
    expect(ipv4Interfaces(HOME, '192.168.1.20').map((i) => i.address)).toEqual(['192.168.1.20']);
    expect(ipv4Interfaces(HOME, '127.0.0.1').map((i) => i.address)).toEqual(['127.0.0.1']);
    expect(ipv4Interfaces(HOME, '192.168.1.99')).toEqual([]);
  });

  it(`considers at most ${MAX_LAN_INTERFACES} interfaces`, () => {
    const many: InterfaceTable = {};
    for (let i = 0; i < 40; i++) many[`veth${i}`] = [v4(`10.0.${i}.1`, '255.255.255.0')];
    expect(ipv4Interfaces(many)).toHaveLength(MAX_LAN_INTERFACES);
  });

  it('loopback alone still gets multicast, broadcast and unicast (machines with only lo)', () => {
    expect(sendTargets(ipv4Interfaces(LO))).toEqual([
      { kind: 'multicast', via: '127.0.0.1' },
      { kind: 'broadcast', address: '127.255.255.255' },
      { kind: 'unicast', address: '127.0.0.1' },
    ]);
  });

  it('a LAN interface gets multicast and its directed broadcast; a /32 tunnel only multicast', () => {
    expect(sendTargets(ipv4Interfaces(HOME, '192.168.1.20'))).toEqual([
      { kind: 'multicast', via: '192.168.1.20' },
      { kind: 'broadcast', address: '192.168.1.255' },
    ]);
    expect(sendTargets(ipv4Interfaces(HOME, '10.9.0.2'))).toEqual([{ kind: 'multicast', via: '10.9.0.2' }]);
  });

  it('computes directed broadcast addresses', () => {
    expect(directedBroadcast('198.18.5.2', '255.255.255.0')).toBe('198.18.5.255');
    expect(directedBroadcast('10.1.2.3', '255.255.240.0')).toBe('10.1.15.255');
    expect(directedBroadcast('10.1.2.3', '255.255.255.254')).toBeUndefined();
    expect(directedBroadcast('10.1.2.3', '255.255.255.252')).toBe('10.1.2.3');
    expect(directedBroadcast('not-an-address', '255.0.0.0')).toBeUndefined();
    expect(directedBroadcast('10.1.2.300', '255.0.0.0')).toBeUndefined();
  });
});
