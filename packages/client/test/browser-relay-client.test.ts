/**
 * The page's RelayClient over the W3C WebSocket API, against a real relay on 127.0.0.1 (port 0). Node has no
 * browser WebSocket, so these tests pass the `ws` package's, which implements the same API (onopen, onmessage,
 * binaryType 'arraybuffer', bufferedAmount).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortunusError } from '@portunus/protocol';
import { startRelay, type RelayHandle } from '@portunus/relay';
import {
  connectBrowserRelay,
  type BrowserRelayClientOptions,
  type PeerEvent,
  type RelayClient,
  type W3CWebSocket,
} from '@portunus/client';
import { eventually, within } from './transport-suite.js';

const W3C = WebSocket as unknown as new (url: string) => W3CWebSocket;
const KiB = 1024;

let relay: RelayHandle;
beforeAll(async () => {
  relay = await startRelay({ host: '127.0.0.1', port: 0, graceMs: 0 });
});
afterAll(async () => {
  await relay.close(0);
});

function open(opts: Partial<BrowserRelayClientOptions> = {}): Promise<RelayClient> {
  return connectBrowserRelay({ url: relay.url, WebSocket: W3C, agent: 'test/1', ...opts });
}

async function next<T extends PeerEvent['type']>(c: RelayClient, type: T): Promise<Extract<PeerEvent, { type: T }>> {
  const event = await within(c.nextEvent(), `a ${type} event`);
  if (event.type !== type) throw new Error(`expected ${type}, got ${event.type}`);
  return event as Extract<PeerEvent, { type: T }>;
}

/** Two clients paired, past what the relay counts as a key exchange, with the pipe open. */
async function pipePair(b: Partial<BrowserRelayClientOptions> = {}, a: Partial<BrowserRelayClientOptions> = {}) {
  const ca = await open(a);
  const cb = await open(b);
  await cb.claim(await ca.allocate());
  await Promise.all([next(ca, 'paired'), next(cb, 'paired')]);
  ca.sendMessage(new Uint8Array([1]));
  cb.sendMessage(new Uint8Array([2]));
  ca.sendMessage(new Uint8Array([3]));
  await Promise.all([next(cb, 'message'), next(cb, 'message'), next(ca, 'message')]);
  await within(Promise.all([ca.openPipe(), cb.openPipe()]), 'the pipe');
  return { a: ca, b: cb };
}

async function take(c: RelayClient, n: number): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  await within(
    (async () => {
      for await (const frame of c.dataFrames()) if (got.push(frame) === n) return;
    })(),
    `${n} frames`,
  );
  return got;
}

const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('BrowserRelayClient (W3C WebSocket API) against a real relay', () => {
  it('says hello, pairs, and carries peer messages both ways', async () => {
    const { a, b } = await pipePair();
    expect(a.relayName).not.toBe('');
    expect(a.servesPage).toBe(false); // this relay was started without a page
    a.sendMessage(new Uint8Array([9, 8, 7]));
    expect((await next(b, 'message')).body).toEqual(new Uint8Array([9, 8, 7]));
    await Promise.all([a.close(), b.close()]);
    expect(await a.closed).toBeUndefined();
  });

  it('carries data frames both ways, in order and unchanged (1 byte to 1 MiB)', async () => {
    const { a, b } = await pipePair();
    const sizes = [1, 29, 64 * KiB, 64 * KiB + 1, 1024 * KiB];
    const ab = sizes.map((n) => randomBytes(n));
    const ba = sizes.map((n) => randomBytes(n));
    const [, , gotB, gotA] = await Promise.all([
      within((async () => ab.reduce((p, f) => p.then(() => a.sendData(new Uint8Array(f))), Promise.resolve()))(), 'a'),
      within((async () => ba.reduce((p, f) => p.then(() => b.sendData(new Uint8Array(f))), Promise.resolve()))(), 'b'),
      take(b, ab.length),
      take(a, ba.length),
    ]);
    expect(gotB.map(digest)).toEqual(ab.map(digest));
    expect(gotA.map(digest)).toEqual(ba.map(digest));
    await Promise.all([a.close(), b.close()]);
  });

  it('makes sendData wait while bufferedAmount is above the high-water mark, and resumes once it drains', async () => {
    const proxy = await PausingProxy.start(relay.port);
    try {
      const url = `ws://127.0.0.1:${proxy.port}${new URL(relay.url).pathname}`;
      const { a, b } = await pipePair({}, { url, highWaterMark: 256 * KiB });
      proxy.pause();
      const state = { sent: 0, waiting: false };
      const frames = Array.from({ length: 64 }, () => randomBytes(256 * KiB));
      const pump = (async () => {
        for (const frame of frames) {
          state.waiting = true;
          await a.sendData(new Uint8Array(frame));
          state.waiting = false;
          state.sent += 1;
        }
      })();
      // Not at 0: the first look comes before any frame went out; without backpressure all 64 would be gone by the next.
      await eventually(() => state.waiting && state.sent > 0 && state.sent < frames.length, 'sendData to wait');
      const stuckAt = state.sent;
      expect(stuckAt).toBeLessThan(frames.length);
      proxy.resume();
      const got = await take(b, frames.length);
      await within(pump, 'the sender to finish');
      expect(got.map(digest)).toEqual(frames.map(digest));
      await Promise.all([a.close(), b.close()]);
    } finally {
      await proxy.close();
    }
  });

  it('fails with a PROTOCOL error once unread data passes its bound (a browser socket cannot pause)', async () => {
    const { a, b } = await pipePair({ maxQueuedDataBytes: 256 * KiB });
    for (let i = 0; i < 8; i++) await a.sendData(new Uint8Array(64 * KiB));
    const ended = await within(b.closed, 'the receiving side to end');
    expect(ended).toBeInstanceOf(PortunusError);
    expect(ended?.code).toBe('PROTOCOL');
    expect(ended?.message).toMatch(/data nobody acknowledged/);
    await a.close();
  });

  it("maps the relay's refusal to its error code (a third claim of a nameplate: NAMEPLATE_IN_USE)", async () => {
    const a = await open();
    const b = await open();
    const c = await open();
    const nameplate = await a.allocate();
    await b.claim(nameplate);
    const refused = await c.claim(nameplate).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(PortunusError);
    expect((refused as PortunusError).code).toBe('NAMEPLATE_IN_USE');
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('reports PEER_GONE when the other side leaves after the key exchange', async () => {
    const { a, b } = await pipePair();
    await a.close();
    const ended = await within(b.closed, 'b to hear that a left');
    expect(ended?.code).toBe('PEER_GONE');
  });

  it('reports RELAY_UNREACHABLE when nothing listens at the address', async () => {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as { port: number };
    await new Promise<void>((done) => server.close(() => done()));
    const failed = await open({ url: `ws://127.0.0.1:${port}/v1` }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((failed as PortunusError).code).toBe('RELAY_UNREACHABLE');
  });

  it('pings a relay that stays silent, and drops it after a whole stall timeout with RELAY_UNREACHABLE', async () => {
    const silent = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((done) => silent.once('listening', () => done()));
    let pings = 0;
    silent.on('connection', (ws) =>
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data)) as { type: string };
        if (msg.type === 'hello') ws.send(JSON.stringify({ type: 'welcome', protocol: 1, relay: 'silent' }));
        if (msg.type === 'ping') pings += 1;
      }),
    );
    try {
      const { port } = silent.address() as { port: number };
      const c = await open({ url: `ws://127.0.0.1:${port}/v1`, stallTimeoutMs: 2000 });
      const ended = await within(c.closed, 'the client to give up on the relay');
      expect(ended?.code).toBe('RELAY_UNREACHABLE');
      expect(ended?.message).toMatch(/stopped answering/);
      expect(pings).toBeGreaterThan(0);
    } finally {
      for (const ws of silent.clients) ws.terminate();
      await new Promise<void>((done) => silent.close(() => done()));
    }
  });

  it('close() while the relay is slow to answer the closing handshake: no ping goes out after it, nothing throws', async () => {
    // The relay stops reading after its welcome, so the closing handshake waits out the client's close deadline
    // (2 s), longer than a ping interval (1 s here); a ping then would throw from the pinger's timer.
    const slow = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((done) => slow.once('listening', () => done()));
    slow.on('connection', (ws) =>
      ws.on('message', (data) => {
        if ((JSON.parse(String(data)) as { type: string }).type !== 'hello') return;
        ws.send(JSON.stringify({ type: 'welcome', protocol: 1, relay: 'slow' }));
        (ws as unknown as { _socket: { pause(): void } })._socket.pause();
      }),
    );
    const thrown: unknown[] = [];
    const onUncaught = (err: unknown) => thrown.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const { port } = slow.address() as { port: number };
      const c = await open({ url: `ws://127.0.0.1:${port}/v1`, stallTimeoutMs: 4000 });
      await within(c.close(), 'the close to finish');
      expect(await c.closed).toBeUndefined();
      expect(thrown).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const ws of slow.clients) ws.terminate();
      await new Promise<void>((done) => slow.close(() => done()));
    }
  });

  it('ends with INTERRUPTED when the caller aborts', async () => {
    const abort = new AbortController();
    const c = await open({ signal: abort.signal });
    const waiting = c.nextEvent().then(
      () => undefined,
      (err: unknown) => err,
    );
    abort.abort();
    expect(((await within(waiting, 'the wait to end')) as PortunusError).code).toBe('INTERRUPTED');
  });
});

/** A TCP proxy that can stop reading from its clients (keeping every byte), so their socket buffers fill. */
class PausingProxy {
  private readonly clients = new Set<Socket>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(upstreamPort: number): Promise<PausingProxy> {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const proxy = new PausingProxy(server, (server.address() as { port: number }).port);
    server.on('connection', (client) => {
      const upstream = connect(upstreamPort, '127.0.0.1');
      proxy.clients.add(client);
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('error', () => (client.destroy(), upstream.destroy()));
        s.on('close', () => (client.destroy(), upstream.destroy()));
      }
      client.on('data', (chunk) => upstream.write(chunk));
      upstream.on('data', (chunk) => client.write(chunk));
    });
    return proxy;
  }

  pause(): void {
    for (const c of this.clients) c.pause();
  }

  resume(): void {
    for (const c of this.clients) c.resume();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}
