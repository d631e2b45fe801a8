/**
 * Behind reverse proxies (--trust-proxy): the client address a real relay uses for its per-address limits, and the
 * warning a relay without --trust-proxy logs when requests carry X-Forwarded-For.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger, LogFields } from '../src/logger.js';
import type { RelayHandle } from '../src/server.js';
import { RawClient, startTestRelay, viaProxy } from './helpers.js';

let relay: RelayHandle | undefined;
afterEach(async () => {
  await relay?.close(0);
  relay = undefined;
});

function recordingLogger(): Logger & { warnings: [string, LogFields | undefined][] } {
  const warnings: [string, LogFields | undefined][] = [];
  return { warnings, debug() {}, info() {}, error() {}, warn: (event, fields) => void warnings.push([event, fields]) };
}

describe('--trust-proxy with a list of proxies', () => {
  it('limits the rightmost address that is not a trusted proxy, past two proxy hops', async () => {
    // The test's own connections come from 127.0.0.1: the "load balancer". 192.0.2.0/24 plays the CDN.
    relay = await startTestRelay({ trustProxy: ['127.0.0.1', '192.0.2.0/24'], failedClaimsPerMinute: 1 });
    const { url } = relay;
    const holder = await RawClient.hello(url);
    holder.json({ type: 'claim', nameplate: 9 });
    await holder.expect('claimed');
    const partner = await viaProxy(url, '203.0.113.8, 192.0.2.10');
    partner.json({ type: 'claim', nameplate: 9 });
    await partner.expect('paired');

    // A third claim of 9 fails: charged to 203.0.113.5 (what the CDN saw), not to what the client wrote itself.
    const guesser = await viaProxy(url, '198.51.100.1, 203.0.113.5, 192.0.2.10');
    guesser.json({ type: 'claim', nameplate: 9 });
    expect(await guesser.closeCode()).toBe(4004);
    const again = await viaProxy(url, '203.0.113.5, 192.0.2.11');
    again.json({ type: 'claim', nameplate: 10 });
    expect(await again.expect('error')).toMatchObject({ code: 'RATE_LIMITED' });
    const spoofer = await viaProxy(url, '203.0.113.5, 198.51.100.1, 192.0.2.10');
    spoofer.json({ type: 'claim', nameplate: 10 });
    expect(await spoofer.expect('claimed')).toMatchObject({ side: 'a' });
  });
});

describe('X-Forwarded-For without --trust-proxy', () => {
  it('logs one warning naming the flag, however many requests carry the header', async () => {
    const logger = recordingLogger();
    relay = await startTestRelay({}, { logger });
    await RawClient.hello(relay.url);
    expect(logger.warnings).toEqual([]);
    for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) await viaProxy(relay.url, ip);
    expect(logger.warnings).toHaveLength(1);
    expect(JSON.stringify(logger.warnings[0])).toContain('--trust-proxy');
  });

  it('logs nothing when trust-proxy is on', async () => {
    const logger = recordingLogger();
    relay = await startTestRelay({ trustProxy: true }, { logger });
    await viaProxy(relay.url, '203.0.113.1');
    expect(logger.warnings).toEqual([]);
  });
});
