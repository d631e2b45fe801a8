/**
 * Several relay instances on one Redis (PROTOCOL.md §12): the room rules hold across instances — seats joined from
 * several instances, reconnect ids, burns, the failed-claim rate, the per-address connection cap — a link header
 * that does not check out is refused, and a closed instance gives its nameplates back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { toBase64Url } from '@portunus/protocol';
import { redisMissing } from '../../test/redis/redis-server.js';
import type { RelayConfig } from '../src/config.js';
import type { RelayHandle } from '../src/server.js';
import { RawClient, within } from './helpers.js';
import { pairAcross, startTestCluster, type TestCluster } from './cluster-helpers.js';

const missing = redisMissing();
const idOf = (n: number): string => toBase64Url(new Uint8Array(32).fill(n));

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function three(config: Partial<RelayConfig> = {}): Promise<[RelayHandle, RelayHandle, RelayHandle]> {
  cluster = await startTestCluster(3, config);
  return cluster.relays as [RelayHandle, RelayHandle, RelayHandle];
}

describe.skipIf(missing !== undefined)('several relay instances: the rules across instances', () => {
  it('send --count: seats joined from other instances, each claimed from yet another', async () => {
    const [A, B, C] = await three();
    const first = await RawClient.hello(A.url);
    first.json({ type: 'allocate', seats: 2 });
    const { nameplate, token } = (await first.expect('allocated')) as { nameplate: number; token: string };
    const second = await RawClient.hello(B.url);
    second.json({ type: 'join', nameplate, token });
    expect(await second.expect('claimed')).toMatchObject({ side: 'a' });
    const claimers = [await RawClient.hello(C.url), await RawClient.hello(B.url)];
    for (const claimer of claimers) {
      claimer.json({ type: 'claim', nameplate });
      expect(await claimer.expect('claimed')).toMatchObject({ side: 'b' });
      await claimer.expect('paired');
    }
    await first.expect('paired');
    await second.expect('paired');
    const third = await RawClient.hello(C.url);
    third.json({ type: 'claim', nameplate });
    expect((await third.expect('error')).code).toBe('NAMEPLATE_IN_USE');
    expect(A.stats().pairedRooms).toBe(2);
  });

  it('reconnect (§2.13): the two sides meet again through different instances', async () => {
    const [A, B] = await three();
    const first = await RawClient.hello(A.url);
    first.json({ type: 'reconnect', id: idOf(7) });
    const second = await RawClient.hello(B.url);
    second.json({ type: 'reconnect', id: idOf(7) });
    const [r1, r2] = await Promise.all([first.expect('reconnected'), second.expect('reconnected')]);
    expect(r1.sid).toBe(r2.sid);
  });

  it('a burn on one instance refuses the nameplate on the others', async () => {
    const [A, B, C] = await three();
    const { a, b, nameplate } = await pairAcross(A.url, B.url);
    a.json({ type: 'msg', body: 'YQ' });
    b.json({ type: 'msg', body: 'Yg' });
    await b.expect('msg');
    await a.expect('msg');
    b.json({ type: 'burn' });
    expect(await a.closeCode()).toBe(4009);
    expect(await b.closeCode()).toBe(4009);
    const late = await RawClient.hello(C.url);
    late.json({ type: 'claim', nameplate });
    expect((await late.expect('error')).code).toBe('NAMEPLATE_BURNED');
    expect(await late.closeCode()).toBe(4009);
  });

  it('failed claims count across instances: the limit refuses a claim on another instance', async () => {
    const [A, B, C] = await three({ failedClaimsPerMinute: 2 });
    const { nameplate } = await pairAcross(A.url, A.url);
    // Two claims of a full nameplate, through B: refused on A (the room's instance), and counted in Redis.
    for (let i = 0; i < 2; i++) {
      const third = await RawClient.hello(B.url);
      third.json({ type: 'claim', nameplate });
      expect((await third.expect('error')).code).toBe('NAMEPLATE_IN_USE');
    }
    const next = await RawClient.hello(C.url);
    next.json({ type: 'claim', nameplate: 999 });
    expect((await next.expect('error')).code).toBe('RATE_LIMITED');
    expect(await next.closeCode()).toBe(4005);
  });

  it('the per-address connection cap counts the connections on every instance', async () => {
    const [A, B, C] = await three({ maxConnectionsPerIp: 2 });
    const held = [await RawClient.hello(A.url), await RawClient.hello(B.url)];
    const over = await RawClient.connect(C.url);
    expect(await over.closeCode()).toBe(4013);
    held[0]!.close();
    await within(held[0]!.closed, 'close');
    // Released in Redis once A has seen the close: a new connection gets in again.
    let admitted: RawClient | undefined;
    for (let i = 0; i < 50 && admitted === undefined; i++) {
      const attempt = await RawClient.connect(C.url);
      attempt.json({ type: 'hello', protocol: 1, agent: 'test/1' });
      const answer = await attempt.expect('welcome', 'error');
      if (answer.type === 'welcome') admitted = attempt;
    }
    expect(admitted).toBeDefined();
  });

  it('a link header that does not check out is refused with 403', async () => {
    const [A] = await three();
    const forged = `v1.${'0'.repeat(32)}.${Date.now()}.${Buffer.from('10.1.2.3').toString('base64url')}.${'a'.repeat(64)}`;
    await expect(RawClient.connect(A.url, { headers: { 'x-portunus-link': forged } })).rejects.toThrow(/403/);
  });

  it('a closed instance gives its nameplates back at once', async () => {
    const [A, B] = await three();
    const waiting = await RawClient.hello(A.url);
    waiting.json({ type: 'allocate' });
    const { nameplate } = (await waiting.expect('allocated')) as { nameplate: number };
    const other = await RawClient.hello(B.url);
    other.json({ type: 'allocate' });
    expect(((await other.expect('allocated')) as { nameplate: number }).nameplate).not.toBe(nameplate);
    await A.close(0);
    expect(await waiting.closeCode()).toBe(4010);
    const again = await RawClient.hello(B.url);
    again.json({ type: 'allocate' });
    expect(((await again.expect('allocated')) as { nameplate: number }).nameplate).toBe(nameplate);
  });
});
