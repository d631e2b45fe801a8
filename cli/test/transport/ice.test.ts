/** --ice-server parsing (webrtc-ice.ts): RFC 7064/7065 URLs, TURN credentials as user:pass@, nothing else. */
import { advertisedIce, mergeIceServers } from '@portunus/client';
import { describe, expect, it } from 'vitest';
import { parseIceServerArg } from '../../src/transport/webrtc-ice.js';

describe('--ice-server', () => {
  it.each([
    ['stun:stun.example.org:3478', { urls: 'stun:stun.example.org:3478' }],
    ['stun:198.18.0.1', { urls: 'stun:198.18.0.1' }],
    ['turn:user:pass@198.18.0.1:3478', { urls: 'turn:198.18.0.1:3478', username: 'user', credential: 'pass' }],
    [
      'turn:u%40x:p%3Aw@t.example.org?transport=tcp',
      { urls: 'turn:t.example.org?transport=tcp', username: 'u@x', credential: 'p:w' },
    ],
    ['turns:u:p@[2001:db8::1]:5349', { urls: 'turns:[2001:db8::1]:5349', username: 'u', credential: 'p' }],
  ])('parses %s', (text, server) => {
    expect(parseIceServerArg(text)).toEqual(server);
  });

  it.each([
    ['http://stun.example.org', /not a STUN or TURN URL/],
    ['stun:host/path', /not a STUN or TURN URL/],
    ['stun:host?transport=tcp', /not a STUN or TURN URL/],
    ['turn:host:3478', /needs user:password@/],
    ['stun:u:p@host', /takes no credentials/],
    ['turn:u:%zz@host', /percent-encoding/],
  ])('refuses %s (USAGE)', (text, message) => {
    expect(() => parseIceServerArg(text)).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(message) }),
    );
  });

  it('merges in priority order without duplicates, and reads what a relay offered', () => {
    const stun = { urls: 'stun:a' };
    const turn = { urls: 'turn:b', username: 'u', credential: 'p' };
    expect(mergeIceServers([turn], [stun, turn])).toEqual([turn, stun]);
    expect(advertisedIce({ sid: new Uint8Array(16) })).toEqual([]);
    expect(advertisedIce({ sid: new Uint8Array(16), ice: [stun] })).toEqual([stun]);
  });
});
