/**
 * `ping`/`pong` over a real relay on 127.0.0.1 (PROTOCOL.md §2.8): the keepalive of clients that cannot send
 * WebSocket pings. The relay's clock is fixed, so the bound is tested without depending on how fast pings arrive.
 */
import { PING_BURST } from '@portunus/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayHandle } from '../src/server.js';
import { pair, RawClient, startTestRelay } from './helpers.js';

const relays: RelayHandle[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close(0)));
});

/** A relay whose clock stands still: no ping allowance ever refills. */
async function frozenRelay(): Promise<RelayHandle> {
  const relay = await startTestRelay({}, { clock: () => 1_000_000 });
  relays.push(relay);
  return relay;
}

describe('ping and pong through the relay', () => {
  it('answers each ping with a pong, waiting and paired, while the pipe is open too', async () => {
    const relay = await frozenRelay();
    const waiting = await RawClient.hello(relay.url);
    waiting.json({ type: 'allocate' });
    await waiting.expect('allocated');
    waiting.json({ type: 'ping' });
    expect(await waiting.expect('pong')).toEqual({ type: 'pong' });
    const { a, b } = await pair(relay.url);
    a.json({ type: 'pipe' });
    b.json({ type: 'pipe' });
    await a.expect('pipe-open');
    a.ws.send(Buffer.alloc(1000));
    a.json({ type: 'ping' });
    expect(await a.expect('pong')).toEqual({ type: 'pong' });
    await b.until(() => b.binaryBytes === 1000, 'the frame');
    // The pong went to a alone.
    expect(b.messages.filter((m) => m.type === 'pong')).toEqual([]);
    for (const c of [waiting, a, b]) c.close();
  });

  it(`closes a client that sends more than ${PING_BURST} pings without the time to earn them, with 4001`, async () => {
    const relay = await frozenRelay();
    const { a, b } = await pair(relay.url);
    for (let i = 0; i <= PING_BURST; i++) b.json({ type: 'ping' });
    expect(await b.expect('error')).toMatchObject({ code: 'RELAY_PROTOCOL' });
    expect(await b.closeCode()).toBe(4001);
    expect(b.messages.filter((m) => m.type === 'pong')).toHaveLength(PING_BURST);
    // Its peer hears of it as of any departure before the key exchange completed.
    await a.expect('unpaired');
    expect(await relay.metrics()).toMatch(/portunus_relay_rejections_total\{reason="rate_limit"\} 1/);
    a.close();
  });
});
