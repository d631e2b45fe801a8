/** LAN mode's link names an address a neighbour can reach: never loopback when the machine has another interface. */
import { describe, expect, it } from 'vitest';
import { lanPageUrl } from '../../src/lan/lan-page-url.js';
import { ipv4Interfaces, type InterfaceTable } from '../../src/lan/targets.js';

const TABLE: InterfaceTable = {
  lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '', internal: true, cidr: null }],
  eth0: [
    {
      address: 'fe80::1',
      netmask: 'ffff:ffff:ffff:ffff::',
      family: 'IPv6',
      mac: '',
      internal: false,
      cidr: null,
      scopeid: 2,
    },
    { address: '192.168.1.20', netmask: '255.255.255.0', family: 'IPv4', mac: '', internal: false, cidr: null },
  ],
  wlan0: [{ address: '10.0.0.7', netmask: '255.255.255.0', family: 'IPv4', mac: '', internal: false, cidr: null }],
};

describe('lanPageUrl', () => {
  it('takes the first interface that is not loopback, over plain http on the relay port', () => {
    expect(lanPageUrl(ipv4Interfaces(TABLE), 38211)).toBe('http://192.168.1.20:38211/');
  });

  it('takes the --bind address when one is given, loopback included', () => {
    expect(lanPageUrl(ipv4Interfaces(TABLE, '10.0.0.7'), 4000)).toBe('http://10.0.0.7:4000/');
    expect(lanPageUrl(ipv4Interfaces(TABLE, '127.0.0.1'), 4000)).toBe('http://127.0.0.1:4000/');
  });

  it('falls back to loopback on a machine with nothing else, and to nothing without interfaces', () => {
    expect(lanPageUrl(ipv4Interfaces({ lo: TABLE.lo }), 4000)).toBe('http://127.0.0.1:4000/');
    expect(lanPageUrl([], 4000)).toBeUndefined();
  });
});
