import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import type { RelayHandle } from '../src/server.js';
import { eventually, metricValue, pair, pipe, RawClient, startTestRelay, within } from './helpers.js';

let relay: RelayHandle | undefined;
afterEach(async () => {
  await relay?.close(0);
  relay = undefined;
});

async function start(config: Parameters<typeof startTestRelay>[0] = {}): Promise<RelayHandle> {
  relay = await startTestRelay(config);
  return relay;
}

function httpGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; type: string }> {
  return within(
    new Promise((resolve, reject) => {
      const req = request(url, { headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
      });
      req.on('error', reject);
      req.end();
    }),
    `GET ${url}`,
  );
}

describe('relay over real WebSockets', () => {
  it('pairs two clients and forwards messages both ways, in order', async () => {
    const { url } = await start();
    const { a, b, sid } = await pair(url);
    expect(sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    for (let i = 0; i < 20; i++) a.json({ type: 'msg', body: Buffer.from(`a${i}`).toString('base64url') });
    b.json({ type: 'msg', body: 'Yg', ignored: true });
    await b.until(() => b.messages.length === 20, '20 messages at b');
    expect(b.messages.map((m) => Buffer.from(m.body as string, 'base64url').toString())).toEqual(
      Array.from({ length: 20 }, (_, i) => `a${i}`),
    );
    expect(await a.expect('msg')).toEqual({ type: 'msg', body: 'Yg' });
  });

  it('claim pairs with a waiting claimer too, and a third claimer gets 4004', async () => {
    const { url } = await start();
    const a = await RawClient.hello(url);
    a.json({ type: 'claim', nameplate: 4242 });
    expect(await a.expect('claimed')).toEqual({ type: 'claimed', nameplate: 4242, side: 'a' });
    const b = await RawClient.hello(url);
    b.json({ type: 'claim', nameplate: 4242 });
    expect(await b.expect('claimed')).toEqual({ type: 'claimed', nameplate: 4242, side: 'b' });
    expect(await a.expect('paired')).toMatchObject({ side: 'a' });
    expect(await b.expect('paired')).toMatchObject({ side: 'b' });
    const c = await RawClient.hello(url);
    c.json({ type: 'claim', nameplate: 4242 });
    expect(await c.expect('error')).toMatchObject({ code: 'NAMEPLATE_IN_USE' });
    expect(await c.closeCode()).toBe(4004);
    // The pair is unaffected.
    a.json({ type: 'msg', body: 'AA' });
    expect(await b.expect('msg')).toEqual({ type: 'msg', body: 'AA' });
  });

  it('tells the remaining side peer-left and closes it with 4006', async () => {
    const { url } = await start();
    const { a, b } = await pair(url);
    a.close();
    await b.expect('peer-left');
    expect(await b.closeCode()).toBe(4006);
    // Freed as soon as the relay saw a go: b's close came after that.
    expect(relay!.health().nameplates).toBe(0);
  });

  it('expires an unpaired nameplate with 4008', async () => {
    const { url } = await start({ nameplateTtlMs: 200 });
    const a = await RawClient.hello(url);
    a.json({ type: 'allocate' });
    await a.expect('allocated');
    expect(await a.expect('error')).toMatchObject({ code: 'TIMEOUT' });
    expect(await a.closeCode()).toBe(4008);
  });

  it('closes connections that never say hello with 4007', async () => {
    const { url } = await start({ idleTimeoutMs: 200 });
    const a = await RawClient.connect(url);
    expect(await a.closeCode()).toBe(4007);
  });

  it('burn closes both sides with 4009 after what was queued, and later claims get 4009', async () => {
    const { url } = await start();
    const { a, b, nameplate } = await pair(url);
    b.json({ type: 'msg', body: 'AA' });
    await a.expect('msg');
    a.json({ type: 'msg', body: 'AQ' });
    a.json({ type: 'burn' });
    expect(await b.expect('msg')).toEqual({ type: 'msg', body: 'AQ' });
    expect(await b.expect('error')).toMatchObject({ code: 'NAMEPLATE_BURNED' });
    expect(await a.closeCode()).toBe(4009);
    expect(await b.closeCode()).toBe(4009);
    const c = await RawClient.hello(url);
    c.json({ type: 'claim', nameplate });
    expect(await c.closeCode()).toBe(4009);
    expect(metricValue(await relay!.metrics(), 'portunus_relay_burns_total')).toBe(1);
  });

  it('rate limits an address after 5 failed claims in a minute (4005)', async () => {
    const { url } = await start();
    const { nameplate } = await pair(url);
    for (let i = 0; i < 5; i++) {
      const c = await RawClient.hello(url);
      c.json({ type: 'claim', nameplate });
      expect(await c.closeCode()).toBe(4004);
    }
    const c = await RawClient.hello(url);
    c.json({ type: 'claim', nameplate: 77 });
    expect(await c.expect('error')).toMatchObject({ code: 'RATE_LIMITED' });
    expect(await c.closeCode()).toBe(4005);
    expect(metricValue(await relay!.metrics(), 'portunus_relay_rejections_total{reason="rate_limit"}')).toBe(1);
  });

  it('applies the per-address rate limit to the X-Forwarded-For client behind a trusted proxy', async () => {
    const { url } = await start({ trustProxy: true, failedClaimsPerMinute: 1 });
    const { nameplate } = await pair(url);
    const viaProxy = async (ip: string): Promise<RawClient> => {
      const c = await RawClient.connect(url, { headers: { 'x-forwarded-for': ip } });
      c.json({ type: 'hello', protocol: 1, agent: 't' });
      await c.expect('welcome');
      return c;
    };
    const first = await viaProxy('203.0.113.5');
    first.json({ type: 'claim', nameplate });
    expect(await first.closeCode()).toBe(4004);
    const again = await viaProxy('198.51.100.1, 203.0.113.5');
    again.json({ type: 'claim', nameplate: 5 });
    expect(await again.closeCode()).toBe(4005);
    const other = await viaProxy('203.0.113.6');
    other.json({ type: 'claim', nameplate: 5 });
    expect(await other.expect('claimed')).toMatchObject({ side: 'a' });
  });

  it('caps connections per address and in total (4013)', async () => {
    const { url } = await start({ maxConnectionsPerIp: 2, maxConnections: 3, trustProxy: true });
    const from = (ip: string) => RawClient.connect(url, { headers: { 'x-forwarded-for': ip } });
    const a = await from('192.0.2.1');
    await from('192.0.2.1');
    const perAddress = await from('192.0.2.1');
    expect(await perAddress.expect('error')).toMatchObject({ code: 'RELAY_LIMIT' });
    expect(await perAddress.closeCode()).toBe(4013);
    await from('192.0.2.2');
    const total = await from('192.0.2.3');
    expect(await total.expect('error')).toMatchObject({
      code: 'RELAY_LIMIT',
      message: 'relay connection limit reached',
    });
    expect(await total.closeCode()).toBe(4013);
    a.close();
    await a.closed;
    await eventually(() => relay!.stats().connections === 2, 'the relay to see the closes');
    const again = await from('192.0.2.3');
    again.json({ type: 'hello', protocol: 1, agent: 't' });
    expect(await again.expect('welcome')).toMatchObject({ type: 'welcome' });
    expect(metricValue(await relay!.metrics(), 'portunus_relay_rejections_total{reason="limit"}')).toBe(2);
  });

  it('caps the total number of nameplates (4013)', async () => {
    const { url } = await start({ maxNameplates: 2 });
    for (let i = 0; i < 2; i++) {
      const c = await RawClient.hello(url);
      c.json({ type: 'allocate' });
      await c.expect('allocated');
    }
    const c = await RawClient.hello(url);
    c.json({ type: 'allocate' });
    expect(await c.closeCode()).toBe(4013);
  });

  it('closes oversized text with 1009 and oversized binary at the WebSocket layer with 1009', async () => {
    const { url } = await start({ maxMessageBytes: 4096, maxFrameBytes: 8192 });
    const a = await RawClient.hello(url);
    a.text(JSON.stringify({ type: 'msg', body: 'A'.repeat(5000) }));
    expect(await a.expect('error')).toMatchObject({ code: 'MESSAGE_TOO_BIG' });
    expect(await a.closeCode()).toBe(1009);
    const { a: p, b: q } = await pipe(url);
    p.ws.send(Buffer.alloc(9000));
    expect(await p.closeCode()).toBe(1009);
    await q.expect('peer-left');
    expect(await q.closeCode()).toBe(4006);
    expect(metricValue(await relay!.metrics(), 'portunus_relay_rejections_total{reason="too_big"}')).toBe(2);
  });

  it('rejects binary frames before pipe-open with 4001, and forwards them after', async () => {
    const { url } = await start();
    const { a, b } = await pair(url);
    a.json({ type: 'pipe' });
    a.ws.send(Buffer.from([1, 2, 3]));
    expect(await a.expect('error')).toMatchObject({ code: 'RELAY_PROTOCOL' });
    expect(await a.closeCode()).toBe(4001);
    expect(await b.closeCode()).toBe(4006);
    const { a: c, b: d } = await pipe(url);
    c.ws.send(Buffer.from([1, 2, 3]));
    d.json({ type: 'msg', body: 'AA' });
    d.ws.send(Buffer.from([4]));
    await d.until(() => d.binary.length === 1, 'frame at d');
    await c.until(() => c.binary.length === 1 && c.messages.some((m) => m.type === 'msg'), 'frame and msg at c');
    expect([...d.binary[0]!]).toEqual([1, 2, 3]);
    expect([...c.binary[0]!]).toEqual([4]);
  });

  it('enforces the per-transfer byte cap (4011)', async () => {
    const { url } = await start({ transferByteCap: 10_000 });
    const { a, b } = await pipe(url);
    a.ws.send(Buffer.alloc(6000));
    a.ws.send(Buffer.alloc(6000));
    expect(await a.closeCode()).toBe(4011);
    expect(await b.closeCode()).toBe(4011);
    expect(b.binaryBytes).toBe(6000);
  });

  it('answers other paths with HTTP 404, on upgrade and on plain GET', async () => {
    const { url } = await start();
    await expect(RawClient.connect(url.replace('/v1', '/v2'))).rejects.toThrow(/404/);
    await expect(RawClient.connect(url.replace('/v1', '/'))).rejects.toThrow(/404/);
    const base = url.replace('ws://', 'http://').replace('/v1', '');
    expect((await httpGet(`${base}/`)).status).toBe(404);
    expect((await httpGet(`${base}/v1`)).status).toBe(404);
    expect((await httpGet(`${base}/healthz/x`)).status).toBe(404);
  });

  it('serves /healthz and /metrics', async () => {
    const { url } = await start({ name: 'health-test' });
    const base = url.replace('ws://', 'http://').replace('/v1', '');
    const { a, b } = await pipe(url);
    a.ws.send(Buffer.alloc(1000));
    await b.until(() => b.binaryBytes === 1000, 'data at b');
    a.json({ type: 'done', ok: true });
    const waiting = await RawClient.hello(url);
    waiting.json({ type: 'allocate' });
    await waiting.expect('allocated');
    const bad = await RawClient.connect(url);
    bad.text('not json');
    await bad.closeCode();

    const health = await httpGet(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(health.type).toBe('application/json');
    const body = JSON.parse(health.body) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', protocol: 1, connections: 3, nameplates: 2 });
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof body.uptime).toBe('number');

    const metrics = await httpGet(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain/);
    const value = (name: string) => metricValue(metrics.body, name);
    expect(value('portunus_relay_connections')).toBe(3);
    expect(value('portunus_relay_nameplates')).toBe(2);
    expect(value('portunus_relay_paired_rooms')).toBe(1);
    expect(value('portunus_relay_bytes_relayed_total')).toBe(1000);
    expect(value('portunus_relay_transfers_total{outcome="completed"}')).toBe(1);
    expect(value('portunus_relay_transfers_total{outcome="failed"}')).toBe(0);
    expect(value('portunus_relay_rejections_total{reason="bad_message"}')).toBe(1);
    expect(value('portunus_relay_pairings_total')).toBe(1);
    // No process metrics from an embedded relay (the command turns them on).
    expect(metrics.body).not.toContain('process_resident_memory_bytes');
  });
});

// Ping intervals are long enough that a live peer answers within one even on a loaded machine.
describe('keepalive', () => {
  it('terminates a peer that stops answering pings and tells its partner; live peers stay', async () => {
    const { url } = await start({ pingIntervalMs: 500 });
    const live = await RawClient.hello(url);
    live.json({ type: 'allocate' });
    const { nameplate } = (await live.expect('allocated')) as { nameplate: number };
    const dead = await RawClient.connect(url, { autoPong: false });
    dead.json({ type: 'hello', protocol: 1, agent: 't' });
    await dead.expect('welcome');
    dead.json({ type: 'claim', nameplate });
    await dead.expect('paired');
    let pings = 0;
    live.ws.on('ping', () => pings++);
    // The relay gives up on the silent side after a ping round without an answer: TCP reset, no close frame.
    expect(await dead.closeCode()).toBe(1006);
    // The dead side was b, gone before the key exchange: the live side waits on.
    expect(await live.expect('unpaired', 'peer-left', 'error')).toEqual({ type: 'unpaired' });
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(live.ws.readyState).toBe(live.ws.OPEN);
  });

  it('keeps answering peers open across many ping rounds', async () => {
    const { url } = await start({ pingIntervalMs: 300 });
    const { a, b } = await pair(url);
    let pings = 0;
    a.ws.on('ping', () => pings++);
    await eventually(() => pings >= 3, 'three ping rounds');
    expect(a.ws.readyState).toBe(a.ws.OPEN);
    a.json({ type: 'msg', body: 'AA' });
    expect(await b.expect('msg')).toEqual({ type: 'msg', body: 'AA' });
  });
});
