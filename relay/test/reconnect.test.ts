/**
 * Reconnecting after a lost connection, on the relay's side (PROTOCOL.md §2.13): pairing two connections that present
 * the same reconnect id, and the bounds on it — one pairing per id, ids waiting per address and in all, the waiting
 * time, the failed-claims rate — plus `peer-left` saying whether the peer's connection was lost.
 */
import { describe, expect, it } from 'vitest';
import { toBase64Url } from '@portunus/protocol';
import { RelayCore } from '../src/core.js';
import { defaultRelayConfig, type RelayConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import type { RelayAction } from '../src/relay-action.js';
import type { RelayObserver } from '../src/relay-observer.js';
import { MAX_RECONNECTS_PER_ADDRESS } from '../src/rooms.js';
import type { ClientOptions } from 'ws';
import { pair, RawClient, startTestRelay } from './helpers.js';

const SID = new Uint8Array(16).fill(9);
const ignore = () => undefined;
const observer: RelayObserver = {
  rejected: ignore,
  paired: ignore,
  unpaired: ignore,
  seatJoined: ignore,
  burned: ignore,
  transfer: ignore,
  relayed: ignore,
};

/** A reconnect id as a client derives one: 32 bytes, base64url. */
const idOf = (n: number) => toBase64Url(new Uint8Array(32).fill(n));

function setup(config: Partial<RelayConfig> = {}) {
  const core = new RelayCore(
    { ...defaultRelayConfig, servesPage: false, nameplateTtlMs: 1000, ...config },
    { random: (n) => SID.slice(0, n), observer, logger: silentLogger },
  );
  const send = (conn: number, msg: unknown, now = 0): RelayAction[] => {
    const text = JSON.stringify(msg);
    return core.text(conn, text, text.length, now);
  };
  const hello = (address = '192.0.2.1'): number => {
    const { conn } = core.open(address, 0);
    send(conn, { type: 'hello', protocol: 1, agent: 't' });
    return conn;
  };
  const reconnect = (id: string, address?: string, now = 0) => {
    const conn = hello(address);
    return { conn, actions: send(conn, { type: 'reconnect', id }, now) };
  };
  return { core, send, hello, reconnect };
}

const refused = (conn: number, code: string, close: number) => [
  { type: 'send', conn, msg: expect.objectContaining({ type: 'error', code }) },
  { type: 'close', conn, code: close, reason: expect.any(String) },
];

describe('reconnect {id}', () => {
  it('pairs the two connections that present the same id: both get reconnected with a fresh sid', () => {
    const { reconnect, send } = setup();
    const first = reconnect(idOf(1));
    expect(first.actions).toEqual([]);
    const other = reconnect(idOf(2), '192.0.2.2');
    expect(other.actions).toEqual([]);
    const second = reconnect(idOf(1), '192.0.2.3');
    expect(second.actions).toEqual([
      { type: 'send', conn: first.conn, msg: { type: 'reconnected', sid: SID } },
      { type: 'send', conn: second.conn, msg: { type: 'reconnected', sid: SID } },
    ]);
    // Paired: messages and the pipe work as after `paired`.
    expect(send(second.conn, { type: 'msg', body: 'AAEC' })).toEqual([
      { type: 'forward', from: second.conn, to: first.conn, msg: { type: 'msg', body: 'AAEC' } },
    ]);
    send(first.conn, { type: 'pipe' });
    expect(send(second.conn, { type: 'pipe' })).toHaveLength(2);
  });

  it('refuses a third connection with the id as NAMEPLATE_IN_USE, a failed claim', () => {
    const { reconnect, send, hello } = setup({ failedClaimsPerMinute: 1 });
    reconnect(idOf(1));
    reconnect(idOf(1));
    const third = reconnect(idOf(1), '198.51.100.7');
    expect(third.actions).toEqual(refused(third.conn, 'NAMEPLATE_IN_USE', 4004));
    // The failed claim counts: the same address is now rate limited, for claims and reconnects alike.
    const again = hello('198.51.100.7');
    expect(send(again, { type: 'claim', nameplate: 5 })).toEqual(refused(again, 'RATE_LIMITED', 4005));
  });

  it('is a room with the key exchange complete: either side leaving ends it, nobody waits again', () => {
    const { core, reconnect } = setup();
    const a = reconnect(idOf(1));
    const b = reconnect(idOf(1), '192.0.2.9');
    expect(core.closed(b.conn, 0, true)).toEqual([
      { type: 'send', conn: a.conn, msg: { type: 'peer-left', lost: true } },
      { type: 'close', conn: a.conn, code: 4006, reason: 'peer left' },
    ]);
    // The id is free again: both sides may meet under it once more.
    expect(reconnect(idOf(1)).actions).toEqual([]);
    expect(reconnect(idOf(1)).actions).toHaveLength(2);
  });

  it('tells the peer `lost` only when the connection was dropped for silence', () => {
    const { core, reconnect } = setup();
    const a = reconnect(idOf(1));
    const b = reconnect(idOf(1));
    expect(core.closed(a.conn, 0, false)).toEqual([
      { type: 'send', conn: b.conn, msg: { type: 'peer-left' } },
      { type: 'close', conn: b.conn, code: 4006, reason: 'peer left' },
    ]);
  });

  it(`lets one address have at most ${MAX_RECONNECTS_PER_ADDRESS} ids waiting, and counts them as nameplates`, () => {
    const { reconnect, core, send, hello } = setup({ maxNameplates: MAX_RECONNECTS_PER_ADDRESS + 2 });
    for (let i = 0; i < MAX_RECONNECTS_PER_ADDRESS; i++) expect(reconnect(idOf(i)).actions).toEqual([]);
    const over = reconnect(idOf(200));
    expect(over.actions).toEqual(refused(over.conn, 'RELAY_LIMIT', 4013));
    // Another address may still wait, and pairing one id frees a place for the first address.
    expect(reconnect(idOf(201), '192.0.2.50').actions).toEqual([]);
    expect(reconnect(idOf(0), '192.0.2.51').actions).toHaveLength(2);
    expect(reconnect(idOf(202)).actions).toEqual([]);
    expect(core.stats().nameplates).toBe(MAX_RECONNECTS_PER_ADDRESS + 2);
    // The nameplates are full: neither an allocate nor another id fits.
    const alloc = hello('192.0.2.60');
    expect(send(alloc, { type: 'allocate' })).toEqual(refused(alloc, 'RELAY_LIMIT', 4013));
    const full = reconnect(idOf(203), '192.0.2.61');
    expect(full.actions).toEqual(refused(full.conn, 'RELAY_LIMIT', 4013));
  });

  it('expires an id nobody else presented after nameplate-ttl (TIMEOUT), and frees its place', () => {
    const { reconnect, core } = setup({ nameplateTtlMs: 1000 });
    const waiting = reconnect(idOf(1), undefined, 0);
    expect(core.tick(999)).toEqual([]);
    expect(core.tick(1000)).toEqual(refused(waiting.conn, 'TIMEOUT', 4008));
    expect(core.stats().nameplates).toBe(0);
    const late = reconnect(idOf(1), undefined, 1001);
    expect(late.actions).toEqual([]);
  });

  it('is allowed once per connection, only after hello, never after allocate or claim', () => {
    const { core, send, hello } = setup();
    const { conn: early } = core.open('192.0.2.1', 0);
    expect(send(early, { type: 'reconnect', id: idOf(1) })).toEqual(refused(early, 'RELAY_PROTOCOL', 4001));
    const claimed = hello();
    send(claimed, { type: 'claim', nameplate: 3 });
    expect(send(claimed, { type: 'reconnect', id: idOf(1) })).toEqual(refused(claimed, 'RELAY_PROTOCOL', 4001));
    const twice = hello();
    send(twice, { type: 'reconnect', id: idOf(2) });
    expect(send(twice, { type: 'reconnect', id: idOf(2) })).toEqual(refused(twice, 'RELAY_PROTOCOL', 4001));
    const bad = hello();
    expect(send(bad, { type: 'reconnect', id: 'AAEC' })).toEqual(refused(bad, 'RELAY_PROTOCOL', 4001));
  });

  it('a burn in a reconnect room closes both sides and leaves no burned nameplate behind', () => {
    const { core, reconnect, send } = setup();
    const a = reconnect(idOf(1));
    const b = reconnect(idOf(1));
    send(a.conn, { type: 'msg', body: 'AA' });
    send(b.conn, { type: 'msg', body: 'AA' });
    expect(send(a.conn, { type: 'burn' })).toEqual([
      ...refused(a.conn, 'NAMEPLATE_BURNED', 4009),
      ...refused(b.conn, 'NAMEPLATE_BURNED', 4009),
    ]);
    expect(core.stats()).toMatchObject({ nameplates: 0, burnedNameplates: 0 });
  });
});

describe('peer-left over a real socket', () => {
  it('says lost when the keepalive dropped the peer, nothing when its socket closed or it left', async () => {
    const relay = await startTestRelay({ pingIntervalMs: 1000 });
    /** A pair whose key exchange is complete for the relay (side a sent its pake and confirm, §2.4). */
    const confirmed = async (options: ClientOptions = {}) => {
      const p = await pair(relay.url, options);
      p.a.ws.on('ping', () => p.a.ws.pong()); // side a answers, with or without autoPong
      for (const m of [p.a, p.b, p.a]) m.json({ type: 'msg', body: 'AA' });
      await p.b.until(() => p.b.messages.filter((m) => m.type === 'msg').length === 2, 'both messages');
      return p;
    };
    try {
      // b answers no pings and is dropped; a answers them by hand.
      const silent = await confirmed({ autoPong: false });
      expect(await silent.a.expect('peer-left')).toEqual({ type: 'peer-left', lost: true });
      const gone = await confirmed();
      gone.b.ws.terminate(); // as a killed process's kernel does: the socket closes, no close frame
      expect(await gone.a.expect('peer-left')).toEqual({ type: 'peer-left' });
      const left = await confirmed();
      left.b.close();
      expect(await left.a.expect('peer-left')).toEqual({ type: 'peer-left' });
      const ids = [await RawClient.hello(relay.url), await RawClient.hello(relay.url)];
      for (const c of ids) c.json({ type: 'reconnect', id: idOf(3) });
      const [x, y] = await Promise.all(ids.map((c) => c.expect('reconnected')));
      expect(x!.sid).toBe(y!.sid);
      for (const c of ids) c.close();
    } finally {
      await relay.close();
    }
  });
});
