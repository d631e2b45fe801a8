/** PROTOCOL.md §7.2, datagram layout: golden bytes, and every malformed variant is ignored (parsed as undefined). */
import { describe, expect, it } from 'vitest';
import { encodeLanDatagram, LAN_DATAGRAM_BYTES, parseLanDatagram } from '../../src/lan/datagram.js';
import { MAX_NAMEPLATE, toHex } from '@portunus/protocol';

const ANNOUNCE_7_AT_4747 = '706f7274756e7573' + '01' + '01' + '128b' + '00000007';
const QUERY_123456 = '706f7274756e7573' + '02' + '01' + '0000' + '0001e240';

function bytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

describe('LAN datagram', () => {
  it('encodes an announcement as the documented 16 bytes', () => {
    const d = encodeLanDatagram({ kind: 'announce', version: 1, nameplate: 7, port: 4747 });
    expect(d.length).toBe(LAN_DATAGRAM_BYTES);
    expect(toHex(d)).toBe(ANNOUNCE_7_AT_4747);
  });

  it('encodes a query as the documented 16 bytes (port field zero)', () => {
    expect(toHex(encodeLanDatagram({ kind: 'query', version: 1, nameplate: 123456 }))).toBe(QUERY_123456);
  });

  it('parses what it encodes', () => {
    expect(parseLanDatagram(bytes(ANNOUNCE_7_AT_4747))).toEqual({
      kind: 'announce',
      version: 1,
      nameplate: 7,
      port: 4747,
    });
    expect(parseLanDatagram(bytes(QUERY_123456))).toEqual({ kind: 'query', version: 1, nameplate: 123456 });
    const edge = { kind: 'announce', version: 1, nameplate: MAX_NAMEPLATE, port: 65535 } as const;
    expect(parseLanDatagram(encodeLanDatagram(edge))).toEqual(edge);
  });

  it('parses a datagram inside a larger buffer (Node hands out Buffer views)', () => {
    const pool = new Uint8Array(40);
    pool.set(bytes(ANNOUNCE_7_AT_4747), 8);
    expect(parseLanDatagram(pool.subarray(8, 24))).toMatchObject({ nameplate: 7, port: 4747 });
  });

  const malformed: [string, string][] = [
    ['empty', ''],
    ['one byte short', ANNOUNCE_7_AT_4747.slice(0, -2)],
    ['one byte long (a future, longer format is not ours to read)', ANNOUNCE_7_AT_4747 + '00'],
    ['wrong magic', '506f7274756e7573' + ANNOUNCE_7_AT_4747.slice(16)],
    ['unknown kind 0', ANNOUNCE_7_AT_4747.slice(0, 16) + '00' + ANNOUNCE_7_AT_4747.slice(18)],
    ['unknown kind 3', ANNOUNCE_7_AT_4747.slice(0, 16) + '03' + ANNOUNCE_7_AT_4747.slice(18)],
    ['unsupported version 0', ANNOUNCE_7_AT_4747.slice(0, 18) + '00' + ANNOUNCE_7_AT_4747.slice(20)],
    ['unsupported version 2', ANNOUNCE_7_AT_4747.slice(0, 18) + '02' + ANNOUNCE_7_AT_4747.slice(20)],
    ['announce with port 0', ANNOUNCE_7_AT_4747.slice(0, 20) + '0000' + ANNOUNCE_7_AT_4747.slice(24)],
    ['query with a port', QUERY_123456.slice(0, 20) + '128b' + QUERY_123456.slice(24)],
    ['nameplate 0', ANNOUNCE_7_AT_4747.slice(0, 24) + '00000000'],
    [
      'nameplate above the maximum',
      ANNOUNCE_7_AT_4747.slice(0, 24) + (MAX_NAMEPLATE + 1).toString(16).padStart(8, '0'),
    ],
    ['nameplate 2^32-1', ANNOUNCE_7_AT_4747.slice(0, 24) + 'ffffffff'],
  ];
  it.each(malformed)('ignores %s', (_, hex) => {
    expect(parseLanDatagram(bytes(hex))).toBeUndefined();
  });

  it('refuses to encode out-of-range fields', () => {
    expect(() => encodeLanDatagram({ kind: 'announce', version: 1, nameplate: 0, port: 1 })).toThrow(RangeError);
    expect(() => encodeLanDatagram({ kind: 'announce', version: 1, nameplate: 1, port: 0 })).toThrow(RangeError);
    expect(() => encodeLanDatagram({ kind: 'announce', version: 1, nameplate: 1, port: 65536 })).toThrow(RangeError);
    expect(() => encodeLanDatagram({ kind: 'query', version: 256, nameplate: 1 })).toThrow(RangeError);
  });
});
