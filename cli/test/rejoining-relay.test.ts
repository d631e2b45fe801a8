/**
 * The relay connection of a session surviving its loss (PROTOCOL.md §2.13; @portunus/client rejoining-relay.ts),
 * against a real relay in this process, stopped and started again on the same port, with Node's relay client: the
 * two sides meet again under the session's reconnect id, prove the key, and get the sealed control messages the
 * other lacks; a stranger holding the id gets nowhere; a relay that stays away ends it within the window; before
 * key confirmation nothing is rejoined.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONTROL_STREAM,
  deriveSessionKeys,
  FrameSealer,
  parseFrameHeader,
  PortunusError,
  type PortunusError as Err,
  type SessionKeys,
  type Side,
} from '@portunus/protocol';
import { nodeAead } from '@portunus/protocol/node';
import { type RelayClient, RejoiningRelay, type RejoinEvents } from '@portunus/client';
import { startRelay, type RelayHandle } from '@portunus/relay';
import { connectRelay } from '../src/relay-client/client.js';
import { nextMessage, nextPaired } from './relay-events.js';

const WAIT_MS = 20_000;
let relay: RelayHandle | undefined;
const opened: RejoiningRelay[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((line) => line.close()));
  await relay?.close(0);
  relay = undefined;
});

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function startOn(port = 0): Promise<RelayHandle> {
  relay = await startRelay({ host: '127.0.0.1', port, graceMs: 0 });
  return relay;
}

/** What a line told: each attempt's reason code, and how many times it came back. */
class Told implements RejoinEvents {
  readonly attempts: string[] = [];
  reconnects = 0;
  private readonly waiters = new Set<() => void>();
  reconnecting(_attempt: number, reason: Err): void {
    this.attempts.push(reason.code);
    for (const wake of [...this.waiters]) wake();
  }
  /** Resolves once an attempt was made because of `code`. */
  attemptAfter(code: string): Promise<void> {
    return new Promise((resolve) => {
      const check = () => void (this.attempts.includes(code) && (this.waiters.delete(check), resolve()));
      this.waiters.add(check);
      check();
    });
  }
  reconnected(): void {
    this.reconnects++;
  }
  debug(): void {}
}

interface Side_ {
  line: RejoiningRelay;
  told: Told;
  /** Connections the line came back with. */
  back: (RelayClient | undefined)[];
}

/** Two sides paired on a fresh nameplate, each behind a RejoiningRelay; `gate` holds side b's reconnects. */
async function pairedLines(opts: { windowMs?: number; gate?: Promise<void> } = {}): Promise<{ a: Side_; b: Side_ }> {
  const url = relay!.url;
  const connect = (signal: AbortSignal) => connectRelay({ url, agent: 'test/1', signal });
  const first = { a: await connect(AbortSignal.timeout(WAIT_MS)), b: await connect(AbortSignal.timeout(WAIT_MS)) };
  const nameplate = await first.a.allocate();
  await first.b.claim(nameplate);
  const make = (client: RelayClient, gate?: Promise<void>): Side_ => {
    const told = new Told();
    const line = new RejoiningRelay(client, {
      connect: async (signal) => (await gate, connect(signal)),
      windowMs: opts.windowMs ?? WAIT_MS,
      random: (n) => randomBytes(n),
      events: told,
    });
    opened.push(line);
    const back: (RelayClient | undefined)[] = [];
    line.watch((c) => back.push(c));
    return { line, told, back };
  };
  const sides = { a: make(first.a), b: make(first.b, opts.gate) };
  await within(Promise.all([nextPaired(sides.a.line), nextPaired(sides.b.line)]), 'paired');
  return sides;
}

const keys: SessionKeys = deriveSessionKeys(randomBytes(64), randomBytes(16));

/** Arms a line as the session machine does at confirmation; its `expected` follows what it has read. */
function arm(side: Side_, letter: Side): { received: () => number[]; read: () => Promise<number> } {
  const received: number[] = [];
  side.line.confirmed(keys, letter, () => received.length);
  const read = async () => {
    const header = parseFrameHeader(await within(nextMessage(side.line), 'a control message'));
    if (header instanceof PortunusError) throw header;
    received.push(header.index);
    return header.index;
  };
  return { received: () => received, read };
}

describe('RejoiningRelay', () => {
  it('meets the peer again after the relay restarted, and resends the control messages the peer lacks', async () => {
    const { port } = await startOn();
    const { a, b } = await pairedLines();
    const atA = arm(a, 'a');
    const atB = arm(b, 'b');
    const seal = new FrameSealer(nodeAead(keys.message.a), CONTROL_STREAM);
    a.line.sendMessage(seal.seal(new Uint8Array([1])));
    a.line.sendMessage(seal.seal(new Uint8Array([2])));
    expect([await atB.read(), await atB.read()]).toEqual([0, 1]);
    await relay!.close(0);
    // Sent while the relay is away (a may not know yet): kept, and sent again once b says it lacks it.
    a.line.sendMessage(seal.seal(new Uint8Array([3])));
    await startOn(port);
    // b expects index 2 next: a sends it again on the new connection.
    expect(await within(atB.read(), 'the message sent while away')).toBe(2);
    expect(a.back.filter((c) => c !== undefined)).toHaveLength(1);
    expect(b.back.filter((c) => c !== undefined)).toHaveLength(1);
    for (const side of [a, b]) {
      expect(side.told.attempts[0]).toBe('RELAY_SHUTDOWN');
      expect(side.told.reconnects).toBe(1);
    }
    expect(atA.received()).toEqual([]);
  });

  it('a stranger presenting the id without the key is refused, and the real peer then gets through', async () => {
    const { port } = await startOn();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { a, b } = await pairedLines({ gate });
    arm(a, 'a');
    const atB = arm(b, 'b');
    await relay!.close(0);
    await startOn(port);
    // b is held back; the stranger meets a under the id, answers its rejoin with a nonce and a MAC it had to guess.
    const stranger = await connectRelay({ url: relay!.url, agent: 'stranger/1' });
    await within(stranger.reconnect(keys.reconnect.id), 'the stranger paired');
    const body = (json: unknown) => new TextEncoder().encode(JSON.stringify(json));
    expect(JSON.parse(new TextDecoder().decode(await nextMessage(stranger)))).toMatchObject({ type: 'rejoin' });
    stranger.sendMessage(body({ type: 'rejoin', nonce: randomBytes(16).toString('base64url') }));
    expect(JSON.parse(new TextDecoder().decode(await nextMessage(stranger)))).toMatchObject({ type: 'rejoin-confirm' });
    stranger.sendMessage(body({ type: 'rejoin-confirm', next: 0, mac: randomBytes(32).toString('base64url') }));
    // a refuses it: the stranger's connection ends (the peer left), and a tries again.
    expect(await within(stranger.closed, 'the stranger dropped')).toMatchObject({ code: 'PEER_GONE' });
    await within(a.told.attemptAfter('PROTOCOL'), "a's attempt after the stranger");
    open();
    const seal = new FrameSealer(nodeAead(keys.message.a), CONTROL_STREAM);
    a.line.sendMessage(seal.seal(new Uint8Array([9])));
    expect(await within(atB.read(), 'a message from the real peer')).toBe(0);
    expect([a.told.reconnects, b.told.reconnects]).toEqual([1, 1]);
  });

  it('a relay that stays away: the session fails with RELAY_UNREACHABLE once the window is over', async () => {
    await startOn();
    const { a } = await pairedLines({ windowMs: 1500 });
    arm(a, 'a');
    await relay!.close(0);
    relay = undefined;
    const failure = await within(
      a.line.nextEvent().then(
        () => undefined,
        (err: Err) => err,
      ),
      'the end',
    );
    expect(failure).toMatchObject({ code: 'RELAY_UNREACHABLE' });
    expect(a.back).toEqual([undefined]);
    expect(a.line.pending).toBe(false);
    expect(a.told.attempts.length).toBeGreaterThanOrEqual(2);
  });

  it('before key confirmation a lost connection is the end: nothing is rejoined', async () => {
    await startOn();
    const { a } = await pairedLines();
    await relay!.close(0);
    relay = undefined;
    await expect(within(a.line.nextEvent(), 'the end')).rejects.toMatchObject({ code: 'RELAY_SHUTDOWN' });
    expect(a.told.attempts).toEqual([]);
  });
});
