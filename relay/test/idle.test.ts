/**
 * A relay full of waiting senders: 1,000 connections that said hello and claimed a nameplate each. What is
 * asserted is behaviour (every one waits, the cap refuses the next with 4013, a pair is still served, the
 * bookkeeping returns to zero), not memory: `npm run bench` prints the relay's RSS for the same load.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RelayHandle } from '../src/server.js';
import { eventually, pair, RawClient, startTestRelay, within } from './helpers.js';

const WAITING = 1000;

let relay: RelayHandle | undefined;
afterEach(async () => {
  await relay?.close(0);
  relay = undefined;
});

async function waitingSender(url: string, nameplate: number): Promise<RawClient> {
  const client = await RawClient.hello(url);
  client.json({ type: 'claim', nameplate });
  await client.expect('claimed');
  return client;
}

describe(`relay with ${WAITING.toLocaleString('en')} idle connections`, () => {
  it('keeps every one waiting, refuses one more at the cap (4013), serves a pair, and forgets them all when they go', async () => {
    relay = await startTestRelay({ maxConnections: WAITING + 2, maxConnectionsPerIp: WAITING + 10 });
    const { url } = relay;
    const clients: RawClient[] = [];
    for (let i = 0; i < WAITING; i += 100) {
      clients.push(
        ...(await within(
          Promise.all(Array.from({ length: 100 }, (_, j) => waitingSender(url, i + j + 1))),
          'a batch of waiting senders',
          30_000,
        )),
      );
    }
    expect(relay.stats()).toMatchObject({ connections: WAITING, nameplates: WAITING, pairedRooms: 0 });

    const { a, b } = await pair(url);
    const extra = await RawClient.connect(url);
    expect(await extra.expect('error')).toMatchObject({ code: 'RELAY_LIMIT' });
    expect(await extra.closeCode()).toBe(4013);
    a.json({ type: 'msg', body: 'AA' });
    expect(await b.expect('msg')).toEqual({ type: 'msg', body: 'AA' });
    await eventually(() => relay!.stats().connections === WAITING + 2, 'the refused connection to be forgotten');
    expect(clients.every((c) => c.ws.readyState === WebSocket.OPEN)).toBe(true);

    for (const client of [...clients, a, b]) client.close();
    await eventually(() => relay!.stats().connections === 0, 'every connection to be gone', 30_000);
    expect(relay.stats()).toMatchObject({ nameplates: 0, pairedRooms: 0, preUpgradeSockets: 0, open: 0 });
  });
});
