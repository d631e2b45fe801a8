/** Text messages on the direct data channel (channel-messages.ts): exact JSON and strict parsing. */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../src/bytes.js';
import { encodeChannelMessage, parseChannelMessage, type ChannelMessage } from '../src/channel-messages.js';

const MAC = Uint8Array.from({ length: 32 }, (_, i) => i);

describe('channel messages', () => {
  const golden: [ChannelMessage, string][] = [
    [{ type: 'binding', mac: MAC }, '{"type":"binding","mac":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}'],
    [{ type: 'credit', bytes: 4194304 }, '{"type":"credit","bytes":4194304}'],
  ];
  it.each(golden)('%j', (msg, json) => {
    expect(encodeChannelMessage(msg)).toBe(json);
    expect(parseChannelMessage(json)).toEqual(msg);
    expect(parseChannelMessage(utf8(json))).toEqual(msg);
  });

  it.each([
    ['a short MAC', '{"type":"binding","mac":"AAEC"}'],
    ['a negative credit', '{"type":"credit","bytes":-1}'],
    ['a fractional credit', '{"type":"credit","bytes":1.5}'],
    ['an unknown type', '{"type":"frame","bytes":1}'],
    ['not JSON', 'credit 5'],
    ['an oversized message', `{"type":"credit","bytes":1,"pad":"${'x'.repeat(300)}"}`],
    ['invalid UTF-8', Uint8Array.of(0xff, 0xfe)],
  ])('rejects %s', (_, input) => {
    expect(parseChannelMessage(input)).toBeUndefined();
  });
});
