/**
 * ICE servers the relay offers for the direct path: --stun / --turn (and PORTUNUS_RELAY_STUN / _TURN) are checked
 * at start-up and handed to both sides in `paired`; without them `paired` carries no `ice` field at all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { relayConfigFromEnv, relayIceServers, resolveRelayConfig } from '../src/config.js';
import type { RelayHandle } from '../src/server.js';
import { RawClient, startTestRelay } from './helpers.js';

let relay: RelayHandle | undefined;
afterEach(async () => {
  await relay?.close(0);
  relay = undefined;
});

describe('relay ICE servers', () => {
  it('turns --stun and --turn into RTCIceServer entries', () => {
    expect(
      relayIceServers({ stun: 'stun:198.18.0.1:3478', turn: 'turn:198.18.0.1:3478?transport=tcp,portunus,secret' }),
    ).toEqual([
      { urls: 'stun:198.18.0.1:3478' },
      { urls: 'turn:198.18.0.1:3478?transport=tcp', username: 'portunus', credential: 'secret' },
    ]);
    expect(relayIceServers({ stun: undefined, turn: undefined })).toEqual([]);
  });

  it('reads them from the environment too', () => {
    expect(
      relayConfigFromEnv({
        PORTUNUS_RELAY_STUN: 'stun:stun.example.org',
        PORTUNUS_RELAY_TURN: 'turn:t.example.org,u,p',
      }),
    ).toEqual({
      stun: 'stun:stun.example.org',
      turn: 'turn:t.example.org,u,p',
    });
  });

  it.each([
    [{ stun: 'turn:host' }, /stun/],
    [{ stun: 'http://host' }, /stun/],
    [{ turn: 'turn:host' }, /turn/],
    [{ turn: 'turn:host,user' }, /turn/],
    [{ turn: 'turn:host,user,pass,extra' }, /turn/],
    [{ turn: 'stun:host,user,pass' }, /turn/],
  ])('refuses %j at start-up (USAGE)', (partial, message) => {
    expect(() => resolveRelayConfig(partial)).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(message) }),
    );
  });

  it('offers them to both sides in paired', async () => {
    relay = await startTestRelay({ stun: 'stun:127.0.0.1:3478', turn: 'turn:127.0.0.1:3478,u,p' });
    const [a, b] = await pairedMessages(relay.url);
    const expected = [{ urls: 'stun:127.0.0.1:3478' }, { urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }];
    expect(a.ice).toEqual(expected);
    expect(b.ice).toEqual(expected);
  });

  it('sends no ice field when none is configured', async () => {
    relay = await startTestRelay();
    const [a, b] = await pairedMessages(relay.url);
    expect(Object.keys(a).sort()).toEqual(['sid', 'side', 'type']);
    expect(Object.keys(b).sort()).toEqual(['sid', 'side', 'type']);
  });
});

/** Pairs two raw clients and returns both `paired` messages as sent. */
async function pairedMessages(url: string): Promise<[Record<string, unknown>, Record<string, unknown>]> {
  const a = await RawClient.hello(url);
  a.json({ type: 'allocate' });
  const { nameplate } = await a.expect('allocated');
  const b = await RawClient.hello(url);
  b.json({ type: 'claim', nameplate });
  const both: [Record<string, unknown>, Record<string, unknown>] = [await a.expect('paired'), await b.expect('paired')];
  a.close();
  b.close();
  return both;
}
