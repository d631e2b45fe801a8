/**
 * Attacks on a public relay (issue #12 §2), each reproduced against a real relay, with a legitimate pair shown to
 * still work afterwards. Distinct client addresses come from X-Forwarded-For (the relay trusts its loopback peer as
 * a proxy) or, where the socket peer itself counts, from another loopback source address (127.0.0.2).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import type { RelayHandle } from '../src/server.js';
import { pair, pipe, RawClient, startTestRelay, viaProxy, within } from './helpers.js';

let relay: RelayHandle | undefined;
afterEach(async () => {
  await relay?.close(0);
  relay = undefined;
});

/** A legitimate exchange on a fresh pair: messages both ways. */
async function legitimatePair(url: string): Promise<void> {
  const { a, b } = await pair(url);
  a.json({ type: 'msg', body: 'cGFrZQ' });
  expect(await b.expect('msg')).toEqual({ type: 'msg', body: 'cGFrZQ' });
  b.json({ type: 'msg', body: 'AQ' });
  expect(await a.expect('msg')).toEqual({ type: 'msg', body: 'AQ' });
  a.close();
  b.close();
}

describe('claim-and-leave', () => {
  it('20 claim-and-leave attempts from one address: a waits on (unpaired), rate limited after 5, then a real claimer pairs', async () => {
    relay = await startTestRelay({ trustProxy: true });
    const { url } = relay;
    const a = await RawClient.hello(url);
    a.json({ type: 'allocate' });
    const { nameplate } = await a.expect('allocated');
    let unpaired = 0;
    let refused = 0;
    for (let attempt = 0; attempt < 20; attempt++) {
      const b = await viaProxy(url, '203.0.113.66');
      b.json({ type: 'claim', nameplate });
      const reply = await b.expect('paired', 'error');
      if (reply.type === 'error') {
        expect(reply).toMatchObject({ code: 'RATE_LIMITED' });
        expect(await b.closeCode()).toBe(4005);
        refused++;
        continue;
      }
      // As a real sender does, a answers its pairing with its pake, which may reach the relay after b has gone.
      await a.expect('paired');
      a.json({ type: 'msg', body: 'cGFrZQ' });
      b.close();
      expect(await a.expect('unpaired', 'peer-left', 'error')).toEqual({ type: 'unpaired' });
      unpaired++;
    }
    expect({ unpaired, refused }).toEqual({ unpaired: 5, refused: 15 });
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
    expect(relay.stats()).toMatchObject({ nameplates: 1, pairedRooms: 0 });

    const b = await viaProxy(url, '203.0.113.7');
    b.json({ type: 'claim', nameplate });
    expect(await b.expect('claimed')).toEqual({ type: 'claimed', nameplate, side: 'b' });
    const [pa, pb] = [await a.expect('paired'), await b.expect('paired')];
    expect(pa.sid).toBe(pb.sid);
    a.json({ type: 'msg', body: 'cGFrZQ' });
    b.json({ type: 'msg', body: 'cGFrZQ' });
    b.json({ type: 'msg', body: 'Y29uZmlybQ' });
    expect(await a.expect('msg')).toEqual({ type: 'msg', body: 'cGFrZQ' });
    expect(await a.expect('msg')).toEqual({ type: 'msg', body: 'Y29uZmlybQ' });
    // The key exchange completes with a's confirm; from then on b leaving ends the transfer as before.
    a.json({ type: 'msg', body: 'Y29uZmlybQ' });
    expect(await b.expect('msg')).toEqual({ type: 'msg', body: 'cGFrZQ' });
    expect(await b.expect('msg')).toEqual({ type: 'msg', body: 'Y29uZmlybQ' });
    b.close();
    await a.expect('peer-left');
    expect(await a.closeCode()).toBe(4006);
  });
});

describe('burn flood', () => {
  it('burned nameplates never exhaust the table: allocate keeps working, the flooders get rate limited', async () => {
    relay = await startTestRelay({ trustProxy: true, maxNameplates: 4 });
    const { url } = relay;
    let burns = 0;
    let refused = 0;
    // Three flooders, each a pair of addresses pairing with itself: more burns than the table has nameplates.
    for (const flooder of [1, 2, 3]) {
      for (let attempt = 0; attempt < 6; attempt++) {
        const first = await viaProxy(url, `198.51.100.${flooder}`);
        first.json({ type: 'allocate' });
        const allocated = await first.expect('allocated', 'error');
        expect(allocated.type).toBe('allocated');
        const second = await viaProxy(url, `203.0.113.${flooder}`);
        second.json({ type: 'claim', nameplate: allocated.nameplate });
        const reply = await second.expect('paired', 'error');
        if (reply.type === 'error') {
          expect(reply).toMatchObject({ code: 'RATE_LIMITED' });
          refused++;
          first.close();
          continue;
        }
        await first.expect('paired');
        first.json({ type: 'msg', body: 'AA' });
        second.json({ type: 'msg', body: 'AA' });
        await first.expect('msg');
        await second.expect('msg');
        first.json({ type: 'burn' });
        expect(await first.closeCode()).toBe(4009);
        expect(await second.closeCode()).toBe(4009);
        burns++;
      }
    }
    // Each burn charged both addresses a failed claim: five burns per flooder, then its claims are refused.
    expect({ burns, refused }).toEqual({ burns: 15, refused: 3 });
    expect(relay.stats().burnedNameplates).toBe(4);
    await legitimatePair(url);
  });

  it('refuses a burn before both sides sent a message (4001), so a claimer cannot burn a waiting nameplate', async () => {
    relay = await startTestRelay();
    const { a, b, nameplate } = await pair(relay.url);
    a.json({ type: 'msg', body: 'AA' });
    await b.expect('msg');
    b.json({ type: 'burn' });
    expect(await b.expect('error')).toMatchObject({ code: 'RELAY_PROTOCOL' });
    expect(await b.closeCode()).toBe(4001);
    expect(await a.expect('unpaired', 'error', 'peer-left')).toEqual({ type: 'unpaired' });
    expect(relay.stats().burnedNameplates).toBe(0);
    const c = await RawClient.hello(relay.url);
    c.json({ type: 'claim', nameplate });
    expect(await c.expect('claimed')).toMatchObject({ side: 'b' });
  });
});

/** Opens a raw TCP connection that never sends a byte; resolves once connected (or closed). */
function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    socket.once('connect', () => resolve(socket));
    socket.once('close', () => resolve(socket));
  });
}

describe('raw TCP sockets before the upgrade', () => {
  it('are counted per address: the ones beyond max-connections-per-ip are closed at once; others still pair', async () => {
    const LIMIT = 4;
    const TOTAL = 40;
    relay = await startTestRelay({ maxConnectionsPerIp: LIMIT });
    const { port } = relay;
    let closed = 0;
    let wake: () => void = () => {};
    const sockets: Socket[] = [];
    for (let i = 0; i < TOTAL; i++) {
      const socket = await rawSocket(port);
      sockets.push(socket);
      if (socket.destroyed) closed++;
      else socket.once('close', () => (closed++, wake()));
    }
    await within(
      (async () => {
        while (closed < TOTAL - LIMIT) await new Promise<void>((resolve) => (wake = resolve));
      })(),
      `the relay to close ${TOTAL - LIMIT} sockets`,
    );
    expect(relay.stats().preUpgradeSockets).toBe(LIMIT);
    // Another loopback source address is another client: its transfer goes through while the flood holds its share.
    const { a, b } = await pipe(relay.url, { localAddress: '127.0.0.2' });
    a.ws.send(Buffer.alloc(100_000, 1));
    await b.until(() => b.binaryBytes === 100_000, 'data at b');
    b.json({ type: 'msg', body: 'AA' });
    expect(await a.expect('msg')).toEqual({ type: 'msg', body: 'AA' });
    expect(closed).toBe(TOTAL - LIMIT);
    for (const socket of sockets) socket.destroy();
    a.close();
    b.close();
  });
});
