/** TCP hints, the body of a `tcp-v1` signal (PROTOCOL.md §6.3 "Hints"): golden JSON and validation of every field. */
import { describe, expect, it } from 'vitest';
import { encodeTcpHints, isIpLiteral, MAX_TCP_HINTS, parseTcpHints, type TcpHint } from '../src/tcp-hints.js';

const HINTS: TcpHint[] = [
  { host: '127.0.0.1', port: 40123 },
  { host: '192.0.2.5', port: 1 },
  { host: '2001:db8::1', port: 65535 },
];
const GOLDEN =
  '{"hints":[{"host":"127.0.0.1","port":40123},{"host":"192.0.2.5","port":1},{"host":"2001:db8::1","port":65535}]}';

describe('hints (the tcp-v1 signal body)', () => {
  it('encodes to the exact JSON, known fields only, and parses back', () => {
    const extra = HINTS.map((h) => ({ ...h, family: 'IPv4' }));
    expect(JSON.stringify(encodeTcpHints(extra))).toBe(GOLDEN);
    expect(parseTcpHints(JSON.parse(GOLDEN))).toEqual(HINTS);
  });

  it('accepts an empty list and exactly MAX_TCP_HINTS hints', () => {
    expect(parseTcpHints({ hints: [] })).toEqual([]);
    const full = Array.from({ length: MAX_TCP_HINTS }, (_, i) => ({ host: '10.0.0.1', port: 1000 + i }));
    expect(parseTcpHints({ hints: full })).toEqual(full);
  });

  it.each([
    ['too many hints', Array.from({ length: MAX_TCP_HINTS + 1 }, () => ({ host: '10.0.0.1', port: 1 }))],
    ['a host name', [{ host: 'example.com', port: 80 }]],
    ['a zone id', [{ host: 'fe80::1%eth0', port: 80 }]],
    ['port 0', [{ host: '10.0.0.1', port: 0 }]],
    ['port 65536', [{ host: '10.0.0.1', port: 65536 }]],
    ['a fractional port', [{ host: '10.0.0.1', port: 80.5 }]],
    ['a port as a string', [{ host: '10.0.0.1', port: '80' }]],
    ['a missing host', [{ port: 80 }]],
    ['a hint that is not an object', ['10.0.0.1:80']],
    ['hints that are not a list', { host: '10.0.0.1', port: 80 }],
  ])('rejects %s', (_, hints) => {
    expect(parseTcpHints({ hints })).toBeUndefined();
  });

  it.each([
    '0.0.0.0',
    '255.255.255.255',
    '::',
    '::1',
    '1::',
    'fe80::1',
    '2001:db8:0:0:0:0:0:1',
    '::ffff:192.0.2.1',
    '1:2:3:4:5:6:1.2.3.4',
  ])('takes %s as an IP literal', (host) => expect(isIpLiteral(host)).toBe(true));

  it.each([
    '256.0.0.1',
    '01.2.3.4',
    '1.2.3',
    '1.2.3.4.5',
    ':1',
    '1:::2',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::',
    'g::1',
    ' ::1',
    '1:2:3:4:5:6:7:1.2.3.4',
    'localhost',
    '',
  ])('refuses %j', (host) => expect(isIpLiteral(host)).toBe(false));
});
