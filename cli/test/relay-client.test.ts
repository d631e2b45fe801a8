import { type RelayClient } from '@portunus/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { connectRelay, relayEndpoint } from '../src/relay-client/client.js';
import { startRelay, type RelayHandle } from '@portunus/relay';
import type { RelayConfig } from '@portunus/relay';
import { nextMessage, nextPaired } from './relay-events.js';

const AGENT = 'portunus/test';
const WAIT_MS = 10_000;

function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function eventually(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function relay(config: Partial<RelayConfig> = {}): Promise<RelayHandle> {
  const handle = await startRelay({ host: '127.0.0.1', port: 0, ...config });
  cleanups.push(() => handle.close(0));
  return handle;
}

async function client(url: string, options: Partial<Parameters<typeof connectRelay>[0]> = {}): Promise<RelayClient> {
  const c = await connectRelay({ url, agent: AGENT, ...options });
  cleanups.push(() => c.close());
  return c;
}

async function paired(url: string, options: Partial<Parameters<typeof connectRelay>[0]> = {}) {
  const a = await client(url, options);
  const nameplate = await a.allocate();
  const b = await client(url, options);
  expect(await b.claim(nameplate)).toEqual({ side: 'b' });
  const pa = await within(nextPaired(a), 'a paired');
  const pb = await within(nextPaired(b), 'b paired');
  return { a, b, nameplate, pa, pb };
}

/** A scripted stand-in for a misbehaving relay (`autoPong: false`: one that never answers pings). */
async function fakeRelay(onConnection: (ws: ServerSocket) => void, opts: { autoPong?: boolean } = {}): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1', autoPong: opts.autoPong ?? true });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', onConnection);
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  );
  return `ws://127.0.0.1:${(wss.address() as { port: number }).port}/v1`;
}

const welcome = JSON.stringify({ type: 'welcome', protocol: 1, relay: 'fake' });
const bytes = (text: string) => new TextEncoder().encode(text);

describe('relay client against the real relay', () => {
  it('says hello, learns the relay name and motd, and appends /v1 to a bare URL', async () => {
    const { url, port } = await relay({ name: 'client-test', motd: 'welcome aboard' });
    const c = await client(`ws://127.0.0.1:${port}`);
    expect(c.relayName).toBe('client-test');
    expect(c.motd).toBe('welcome aboard');
    expect(relayEndpoint(`ws://127.0.0.1:${port}`).href).toBe(url);
    expect(relayEndpoint('wss://relay.example/custom/v1').pathname).toBe('/custom/v1');
    expect(() => relayEndpoint('ftp://x')).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('learns from the welcome whether the relay serves the page', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'portunus-page-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>page</title>');
    const withPage = await client((await relay({ pageDir: dir })).url);
    expect(withPage.servesPage).toBe(true);
    const withoutPage = await client((await relay({ pageDir: dir, noPage: true })).url);
    expect(withoutPage.servesPage).toBe(false);
  });

  it('takes https:// as wss:// and http:// as ws://, keeping host, port and path', async () => {
    const { port } = await relay();
    expect(relayEndpoint('https://relay.example').href).toBe('wss://relay.example/v1');
    expect(relayEndpoint('https://relay.example:8443/custom/v1').href).toBe('wss://relay.example:8443/custom/v1');
    expect(relayEndpoint('http://relay.example:80').href).toBe('ws://relay.example/v1');
    const c = await client(`http://127.0.0.1:${port}`);
    expect(c.relayName).not.toBe('');
  });

  it('pairs by allocate and claim with the same sid', async () => {
    const { url } = await relay();
    const { pa, pb, nameplate } = await paired(url);
    expect(nameplate).toBe(1);
    expect(pa.side).toBe('a');
    expect(pb.side).toBe('b');
    expect(pa.sid).toHaveLength(16);
    expect(pa.sid).toEqual(pb.sid);
  });

  it('allocates a nameplate with seats: each seat pairs with a claimer of its own, one more is refused', async () => {
    const handle = await relay();
    const url = handle.url;
    const a = await client(url);
    const nameplate = await a.allocate(2);
    expect(a.seatToken).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const seat = await client(url);
    await seat.join(nameplate, a.seatToken!);
    const [b1, b2, extra] = [await client(url), await client(url), await client(url)];
    expect(await b1.claim(nameplate)).toEqual({ side: 'b' });
    expect(await b2.claim(nameplate)).toEqual({ side: 'b' });
    const [pa, p1, pseat, p2] = await within(
      Promise.all([nextPaired(a), nextPaired(b1), nextPaired(seat), nextPaired(b2)]),
      'both seats paired',
    );
    expect(pa.sid).toEqual(p1.sid);
    expect(pseat.sid).toEqual(p2.sid);
    expect(pa.sid).not.toEqual(pseat.sid);
    await expect(extra.claim(nameplate)).rejects.toMatchObject({ code: 'NAMEPLATE_IN_USE' });
    expect(await handle.metrics()).toMatch(/^portunus_relay_seats_joined_total 1$/m);
  });

  it('exchanges messages both ways, in order, including empty and large bodies', async () => {
    const { url } = await relay();
    const { a, b } = await paired(url);
    const big = new Uint8Array(500_000).map((_, i) => i % 251);
    a.sendMessage(bytes('one'));
    a.sendMessage(new Uint8Array(0));
    a.sendMessage(big);
    b.sendMessage(bytes('back'));
    expect(await within(nextMessage(b), 'one')).toEqual(bytes('one'));
    expect(await within(nextMessage(b), 'empty')).toEqual(new Uint8Array(0));
    expect(Buffer.from(await within(nextMessage(b), 'big')).equals(big)).toBe(true);
    expect(await within(nextMessage(a), 'back')).toEqual(bytes('back'));
  });

  it('refuses to send a message larger than the relay accepts', async () => {
    const { url } = await relay();
    const { a } = await paired(url);
    expect(() => a.sendMessage(new Uint8Array(800_000))).toThrow(expect.objectContaining({ code: 'MESSAGE_TOO_BIG' }));
  });

  it('pipes data frames both ways, interleaved with messages', async () => {
    const { url } = await relay();
    const { a, b } = await paired(url);
    await within(Promise.all([a.openPipe(), b.openPipe()]), 'pipe-open');
    const frames = Array.from({ length: 200 }, (_, i) => new Uint8Array(10_000).fill(i));
    const sending = (async () => {
      for (const [i, frame] of frames.entries()) {
        await a.sendData(frame);
        if (i === 100) a.sendMessage(bytes('halfway'));
      }
    })();
    b.sendMessage(bytes('hi'));
    await b.sendData(bytes('reply'));
    const got: Uint8Array[] = [];
    for await (const frame of b.dataFrames()) {
      got.push(frame);
      if (got.length === frames.length) break;
    }
    await within(sending, 'sending');
    // Buffer.equals: vitest's deep equality takes seconds over 2 MB of elements.
    expect(got.map((f) => Buffer.from(f).toString('hex'))).toEqual(frames.map((f) => Buffer.from(f).toString('hex')));
    expect(await within(nextMessage(b), 'halfway')).toEqual(bytes('halfway'));
    expect(await within(nextMessage(a), 'hi')).toEqual(bytes('hi'));
    for await (const frame of a.dataFrames()) {
      expect(frame).toEqual(bytes('reply'));
      break;
    }
  });

  it('backpressures a fast sender through the relay to a slow consumer', async () => {
    const MiB = 1024 * 1024;
    const handle = await relay({ highWaterMark: MiB });
    const { a, b } = await paired(handle.url, { highWaterMark: MiB });
    await Promise.all([a.openPipe(), b.openPipe()]);
    const total = 128 * MiB;
    let sent = 0;
    let waiting = false;
    const sender = createHash('sha256');
    const sending = (async () => {
      for (let i = 0; sent < total; i++) {
        // A fresh frame each time: sendData owns the bytes until they are on the wire (no copy is made).
        const frame = new Uint8Array(64 * 1024).fill(i & 0xff);
        sender.update(frame);
        waiting = true;
        await a.sendData(frame);
        waiting = false;
        sent += frame.length;
      }
    })();
    // Nobody reads b's frames yet: b's queue fills, b pauses its socket, the relay pauses a, a's sendData waits.
    await eventually(() => handle.stats().pausedConnections === 1 && waiting, 'the sender to stall');
    const sentAtStall = sent;
    expect(sentAtStall).toBeLessThan(64 * MiB);
    // b holds at most its high-water mark plus one socket read; the rest waits in the relay and in TCP.
    expect(b.queuedDataBytes).toBeGreaterThan(0);
    expect(b.queuedDataBytes).toBeLessThanOrEqual(MiB + 128 * 1024);
    const receiver = createHash('sha256');
    let received = 0;
    let maxQueued = 0;
    for await (const chunk of b.dataFrames()) {
      maxQueued = Math.max(maxQueued, b.queuedDataBytes);
      receiver.update(chunk);
      received += chunk.length;
      if (received === total) break;
    }
    await within(sending, 'sending');
    expect(receiver.digest('hex')).toBe(sender.digest('hex'));
    expect(maxQueued).toBeLessThanOrEqual(MiB + 128 * 1024);
    console.log(`relay client: sender stalled after ${(sentAtStall / MiB).toFixed(1)} MiB of ${total / MiB} MiB`);
  });

  it('reports a third claimer as NAMEPLATE_IN_USE', async () => {
    const { url } = await relay();
    const { nameplate } = await paired(url);
    const c = await client(url);
    await expect(c.claim(nameplate)).rejects.toMatchObject({ code: 'NAMEPLATE_IN_USE' });
    expect(await within(c.closed, 'closed')).toMatchObject({ code: 'NAMEPLATE_IN_USE' });
  });

  it('burn ends both sides with NAMEPLATE_BURNED', async () => {
    const { url } = await relay();
    const { a, b, nameplate } = await paired(url);
    // A relay accepts burn only once both sides have spoken (a key exchange was attempted).
    a.sendMessage(bytes('pake a'));
    b.sendMessage(bytes('pake b'));
    expect(await within(nextMessage(a), 'pake b')).toEqual(bytes('pake b'));
    expect(await within(nextMessage(b), 'pake a')).toEqual(bytes('pake a'));
    a.burn();
    expect(await within(a.closed, 'a closed')).toMatchObject({ code: 'NAMEPLATE_BURNED' });
    expect(await within(b.closed, 'b closed')).toMatchObject({ code: 'NAMEPLATE_BURNED' });
    await expect(b.nextEvent()).rejects.toMatchObject({ code: 'NAMEPLATE_BURNED' });
    const c = await client(url);
    await expect(c.claim(nameplate)).rejects.toMatchObject({ code: 'NAMEPLATE_BURNED' });
  });

  it('delivers queued messages, then reports PEER_GONE when the peer leaves', async () => {
    const { url } = await relay();
    const { a, b } = await paired(url);
    a.sendMessage(bytes('last words'));
    a.reportDone(true);
    await a.close();
    expect(await a.closed).toBeUndefined();
    expect(await within(b.closed, 'b closed')).toMatchObject({ code: 'PEER_GONE' });
    expect(await nextMessage(b)).toEqual(bytes('last words'));
    await expect(nextMessage(b)).rejects.toMatchObject({ code: 'PEER_GONE' });
    expect(() => b.sendMessage(bytes('x'))).toThrow(expect.objectContaining({ code: 'PEER_GONE' }));
    b.reportDone(false); // harmless after the end
  });

  it('close() ends pending calls with INTERRUPTED and resolves closed with undefined', async () => {
    const { url } = await relay();
    const c = await client(url);
    await c.allocate();
    const waitingForPeer = c.nextEvent();
    await c.close();
    await expect(waitingForPeer).rejects.toMatchObject({ code: 'INTERRUPTED' });
    await expect(c.nextEvent()).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(await c.closed).toBeUndefined();
  });

  it('the abort signal ends the connection and pending calls', async () => {
    const { url } = await relay();
    const controller = new AbortController();
    const c = await client(url, { signal: controller.signal });
    await c.allocate();
    const waiting = nextPaired(c);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'INTERRUPTED' });
    // A timeout's abort (what AbortSignal.timeout() raises), fired once connected: a real 50 ms timer could fire
    // during the connection itself on a busy machine.
    const timer = new AbortController();
    const timedOut = await client(url, { signal: timer.signal });
    const pairing = nextPaired(timedOut);
    timer.abort(new DOMException('The operation timed out.', 'TimeoutError'));
    await expect(within(pairing, 'abort')).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('maps relay limits and shutdown to their errors', async () => {
    const handle = await relay({ maxConnectionsPerIp: 1, graceMs: 0 });
    const first = await client(handle.url);
    await expect(connectRelay({ url: handle.url, agent: AGENT })).rejects.toMatchObject({ code: 'RELAY_LIMIT' });
    void handle.close(0);
    expect(await within(first.closed, 'shutdown')).toMatchObject({ code: 'RELAY_SHUTDOWN' });
  });
});

describe('relay client failures', () => {
  it('connection refused → RELAY_UNREACHABLE', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(connectRelay({ url: `ws://127.0.0.1:${port}`, agent: AGENT })).rejects.toMatchObject({
      code: 'RELAY_UNREACHABLE',
    });
  });

  it('a server that never answers → RELAY_UNREACHABLE within the connect timeout', async () => {
    const held: import('node:net').Socket[] = [];
    const server: Server = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const s of held) s.destroy();
          server.close(() => resolve());
        }),
    );
    const port = (server.address() as { port: number }).port;
    await expect(
      within(connectRelay({ url: `ws://127.0.0.1:${port}`, agent: AGENT, connectTimeoutMs: 200 }), 'timeout'),
    ).rejects.toMatchObject({
      code: 'RELAY_UNREACHABLE',
    });
  });

  it('HTTP 404 on upgrade → RELAY_INCOMPATIBLE', async () => {
    const { url } = await relay();
    await expect(connectRelay({ url: url.replace('/v1', '/v9'), agent: AGENT })).rejects.toMatchObject({
      code: 'RELAY_INCOMPATIBLE',
    });
  });

  it('close 4003 or a welcome for another protocol → RELAY_INCOMPATIBLE', async () => {
    const closes = await fakeRelay((ws) => ws.on('message', () => ws.close(4003, 'no')));
    await expect(connectRelay({ url: closes, agent: AGENT })).rejects.toMatchObject({ code: 'RELAY_INCOMPATIBLE' });
    const future = await fakeRelay((ws) =>
      ws.on('message', () => ws.send(JSON.stringify({ type: 'welcome', protocol: 2, relay: 'f' }))),
    );
    await expect(connectRelay({ url: future, agent: AGENT })).rejects.toMatchObject({ code: 'RELAY_INCOMPATIBLE' });
  });

  it('a relay without seats (it ignores the field and sends no token) → RELAY_INCOMPATIBLE', async () => {
    const url = await fakeRelay((ws) =>
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as { type: string };
        if (msg.type === 'hello') ws.send(welcome);
        if (msg.type === 'allocate') ws.send(JSON.stringify({ type: 'allocated', nameplate: 7 }));
      }),
    );
    const c = await client(url);
    await expect(c.allocate(3)).rejects.toMatchObject({ code: 'RELAY_INCOMPATIBLE' });
  });

  it('ignores unknown relay message types but fails on malformed ones', async () => {
    const url = await fakeRelay((ws) =>
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as { type: string };
        if (msg.type === 'hello') ws.send(JSON.stringify({ type: 'notice', text: 'from the future' }));
        if (msg.type === 'hello') ws.send(welcome);
        if (msg.type === 'allocate') ws.send('{"type":"allocated","nameplate":"7"}');
      }),
    );
    const c = await client(url);
    expect(c.relayName).toBe('fake');
    await expect(c.allocate()).rejects.toMatchObject({ code: 'RELAY_PROTOCOL' });
  });

  it('binary before pipe-open, unsolicited replies and message floods are errors', async () => {
    const binary = await fakeRelay((ws) => ws.on('message', () => (ws.send(welcome), ws.send(Buffer.from([1])))));
    const c1 = await client(binary);
    expect(await within(c1.closed, 'closed')).toMatchObject({ code: 'RELAY_PROTOCOL' });
    const unsolicited = await fakeRelay((ws) =>
      ws.on('message', () => (ws.send(welcome), ws.send('{"type":"pipe-open"}'))),
    );
    const c2 = await client(unsolicited);
    expect(await within(c2.closed, 'closed')).toMatchObject({ code: 'RELAY_PROTOCOL' });
    const flood = await fakeRelay((ws) =>
      ws.on('message', () => {
        ws.send(welcome);
        for (let i = 0; i < 300; i++) ws.send('{"type":"msg","body":"AA"}');
      }),
    );
    const c3 = await client(flood, { maxQueuedMessages: 256 });
    expect(await within(c3.closed, 'closed')).toMatchObject({ code: 'PROTOCOL' });
    for (let i = 0; i < 256; i++) expect(await nextMessage(c3)).toEqual(new Uint8Array([0]));
  });

  it('an unknown close code → RELAY_PROTOCOL; a relay error message wins over the close code', async () => {
    const odd = await fakeRelay((ws) => ws.on('message', () => (ws.send(welcome), ws.close(4999))));
    const c1 = await client(odd);
    expect(await within(c1.closed, 'closed')).toMatchObject({ code: 'RELAY_PROTOCOL' });
    const explained = await fakeRelay((ws) =>
      ws.on('message', () => {
        ws.send(welcome);
        ws.send(JSON.stringify({ type: 'error', code: 'RELAY_LIMIT', message: 'full' }));
        ws.close(4001);
      }),
    );
    const c2 = await client(explained);
    expect(await within(c2.closed, 'closed')).toMatchObject({ code: 'RELAY_LIMIT', message: 'full' });
  });

  it('paired, unpaired and paired again arrive as events in order; unpaired while not paired is an error', async () => {
    const sid = Buffer.alloc(16, 1).toString('base64url');
    const url = await fakeRelay((ws) =>
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as { type: string };
        if (msg.type === 'hello') ws.send(welcome);
        if (msg.type !== 'allocate') return;
        ws.send('{"type":"allocated","nameplate":7}');
        ws.send(JSON.stringify({ type: 'paired', sid, side: 'a' }));
        ws.send('{"type":"msg","body":"AA"}');
        ws.send('{"type":"unpaired"}');
        ws.send(JSON.stringify({ type: 'paired', sid, side: 'a' }));
        ws.send('{"type":"unpaired"}');
        ws.send('{"type":"unpaired"}');
      }),
    );
    const pairings: boolean[] = [];
    const c = await client(url, { onPairing: (p) => pairings.push(p) });
    await c.allocate();
    expect((await nextPaired(c)).side).toBe('a');
    expect(await nextMessage(c)).toEqual(new Uint8Array([0]));
    expect(await c.nextEvent()).toEqual({ type: 'unpaired' });
    expect((await nextPaired(c)).side).toBe('a');
    expect(await c.nextEvent()).toEqual({ type: 'unpaired' });
    expect(await within(c.closed, 'closed')).toMatchObject({ code: 'RELAY_PROTOCOL' });
    expect(pairings).toEqual([true, false, true, false]);
  });

  it('a relay that stops answering (no pong, nothing else) is dropped as unreachable after the stall timeout', async () => {
    const url = await fakeRelay(
      (ws) =>
        ws.on('message', (data) => {
          if ((JSON.parse(data.toString()) as { type: string }).type === 'hello') ws.send(welcome);
        }),
      { autoPong: false },
    );
    const c = await client(url, { stallTimeoutMs: 300 });
    const end = await within(c.closed, 'dropped');
    expect(end).toMatchObject({ code: 'RELAY_UNREACHABLE' });
    expect(end?.message).toMatch(/stopped answering/);
    await expect(c.nextEvent()).rejects.toMatchObject({ code: 'RELAY_UNREACHABLE' });
  });

  it('a relay that answers pings is kept, however long nothing else happens', async () => {
    let pings = 0;
    const url = await fakeRelay((ws) => {
      ws.on('ping', () => pings++);
      ws.on('message', (data) => {
        if ((JSON.parse(data.toString()) as { type: string }).type === 'hello') ws.send(welcome);
      });
    });
    const c = await client(url, { stallTimeoutMs: 1000 });
    await eventually(() => pings >= 6, 'six pings answered (one and a half stall timeouts)');
    expect(await Promise.race([c.closed.then(() => 'closed'), Promise.resolve('open')])).toBe('open');
  });
});
