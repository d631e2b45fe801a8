/** Test helpers: an in-process relay on 127.0.0.1:0 and a raw WebSocket client that speaks JSON by hand. */
import WebSocket from 'ws';
import { startRelay, type RelayHandle } from '../src/server.js';
import type { RelayConfig } from '../src/config.js';
import type { RelayDeps } from '../src/server.js';

export const WAIT_MS = 10_000;

export function startTestRelay(config: Partial<RelayConfig> = {}, deps: RelayDeps = {}): Promise<RelayHandle> {
  return startRelay({ host: '127.0.0.1', port: 0, graceMs: 2000, ...config }, deps);
}

/** Rejects after `ms` with a message naming what was awaited (every wait in the tests is bounded). */
export function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface Closed {
  code: number;
  reason: string;
}

/** A WebSocket client that queues what it receives: JSON messages, binary frames and the close. */
export class RawClient {
  readonly messages: Record<string, unknown>[] = [];
  readonly binary: Buffer[] = [];
  binaryBytes = 0;
  readonly closed: Promise<Closed>;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('error', () => {});
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        this.binary.push(data);
        this.binaryBytes += data.length;
      } else {
        this.messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<RawClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    const client = new RawClient(ws);
    await within(
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      }),
      'open',
    );
    return client;
  }

  /** Connects and completes hello/welcome. */
  static async hello(url: string, options: WebSocket.ClientOptions = {}): Promise<RawClient> {
    const client = await RawClient.connect(url, options);
    client.json({ type: 'hello', protocol: 1, agent: 'test/1' });
    await client.expect('welcome');
    return client;
  }

  json(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }

  text(value: string): void {
    this.ws.send(value);
  }

  /** Removes and returns the first queued message of `type` (or of one of `others`), waiting for it if needed. */
  async expect(type: string, ...others: string[]): Promise<Record<string, unknown>> {
    const types = [type, ...others];
    return within(
      (async () => {
        for (;;) {
          const index = this.messages.findIndex((m) => types.includes(m.type as string));
          if (index >= 0) return this.messages.splice(index, 1)[0]!;
          await new Promise<void>((resolve) => this.waiters.push(resolve));
        }
      })(),
      `a '${types.join("' or '")}' message`,
    );
  }

  /** Waits until `predicate` holds, re-checking after every received message. */
  async until(predicate: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    return within(
      (async () => {
        while (!predicate()) await new Promise<void>((resolve) => this.waiters.push(resolve));
      })(),
      what,
      ms,
    );
  }

  close(): void {
    this.ws.close();
  }

  closeCode(): Promise<number> {
    return within(this.closed, 'close').then((c) => c.code);
  }
}

/** Connects as the client at `ip`, told to a relay that trusts the loopback peer as its proxy, and says hello. */
export function viaProxy(url: string, ip: string): Promise<RawClient> {
  return RawClient.hello(url, { headers: { 'x-forwarded-for': ip } });
}

/** Two clients paired on a fresh nameplate: a allocated, b claimed (both connected with `options`). */
export async function pair(
  url: string,
  options: WebSocket.ClientOptions = {},
): Promise<{ a: RawClient; b: RawClient; nameplate: number; sid: string }> {
  const a = await RawClient.hello(url, options);
  a.json({ type: 'allocate' });
  const { nameplate } = (await a.expect('allocated')) as { nameplate: number };
  const b = await RawClient.hello(url, options);
  b.json({ type: 'claim', nameplate });
  await b.expect('claimed');
  const pa = await a.expect('paired');
  const pb = await b.expect('paired');
  if (pa.sid !== pb.sid) throw new Error('sides got different sids');
  return { a, b, nameplate, sid: pa.sid as string };
}

/** Pairs and opens the pipe. */
export async function pipe(
  url: string,
  options: WebSocket.ClientOptions = {},
): Promise<{ a: RawClient; b: RawClient }> {
  const { a, b } = await pair(url, options);
  a.json({ type: 'pipe' });
  b.json({ type: 'pipe' });
  await a.expect('pipe-open');
  await b.expect('pipe-open');
  return { a, b };
}

/** Value of one sample in Prometheus text (labels as written, e.g. `{reason="rate_limit"}`). */
export function metricValue(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return undefined;
}

/**
 * Waits until `predicate` holds, checking every few milliseconds, for state that changes without an event the
 * test can subscribe to (the relay's internal counters). Bounded like every other wait.
 */
export async function eventually(predicate: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The data frames `pump` sends. */
export const PUMP_FRAME = 64 * 1024;

/** Sends `total` bytes in PUMP_FRAME-sized frames, waiting whenever its own queue is above `hwm`. */
export async function pump(
  ws: WebSocket,
  total: number,
  hwm: number,
  state = { sent: 0, waiting: false },
): Promise<void> {
  for (let i = 0; state.sent < total; i++) {
    const frame = Buffer.alloc(PUMP_FRAME, i & 0xff);
    if (ws.bufferedAmount + PUMP_FRAME > hwm) {
      state.waiting = true;
      await new Promise<void>((resolve, reject) => ws.send(frame, (err) => (err ? reject(err) : resolve())));
      state.waiting = false;
    } else {
      ws.send(frame);
    }
    state.sent += PUMP_FRAME;
  }
}
