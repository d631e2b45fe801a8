/** Seats: one nameplate serving several receivers, a room per seat (PROTOCOL.md §2.4 "Seats", `send --count`). */
import { describe, expect, it } from 'vitest';
import { MAX_SEATS, toBase64Url } from '@portunus/protocol';
import { defaultRelayConfig } from '../src/config.js';
import { RelayCore } from '../src/core.js';
import { silentLogger } from '../src/logger.js';
import { Rooms } from '../src/rooms.js';

const TTL = 1000;
const TOKEN = toBase64Url(new Uint8Array(16).fill(7));
const OTHER = toBase64Url(new Uint8Array(16).fill(8));

function rooms(maxNameplates = 100): Rooms {
  return new Rooms({ maxNameplate: 999_999, maxNameplates, nameplateTtlMs: TTL, burnTtlMs: TTL });
}

/** Nameplate 1 with three seats: connection 1 allocated it, 2 and 3 joined. */
function threeSeats(): Rooms {
  const r = rooms();
  expect(r.allocate(1, 0, { total: 3, token: TOKEN })).toEqual({ kind: 'allocated', nameplate: 1 });
  expect(r.join(2, 1, TOKEN, 0)).toEqual({ kind: 'waiting' });
  expect(r.join(3, 1, TOKEN, 0)).toEqual({ kind: 'waiting' });
  return r;
}

describe('Rooms with seats', () => {
  it('takes at most the seats allocated, and only with the token', () => {
    const r = threeSeats();
    const inUse = { kind: 'rejected', code: 'NAMEPLATE_IN_USE', failedClaim: true };
    expect(r.join(4, 1, TOKEN, 0)).toEqual(inUse);
    expect(r.nameplates).toBe(3);
    const s = rooms();
    s.allocate(1, 0, { total: 3, token: TOKEN });
    expect(s.join(2, 1, OTHER, 0)).toEqual(inUse);
    expect(s.join(2, 2, TOKEN, 0)).toEqual(inUse);
    // A nameplate allocated without seats, or claimed, takes no join.
    s.allocate(3, 0);
    expect(s.join(4, 2, TOKEN, 0)).toEqual(inUse);
  });

  it('pairs each claimer with a waiting seat, and refuses one more as in use', () => {
    const r = threeSeats();
    expect(r.claim(11, 1, 0)).toEqual({ kind: 'paired', side: 'b', peer: 1 });
    expect(r.claim(12, 1, 0)).toEqual({ kind: 'paired', side: 'b', peer: 2 });
    expect(r.claim(13, 1, 0)).toEqual({ kind: 'paired', side: 'b', peer: 3 });
    expect(r.claim(14, 1, 0)).toEqual({ kind: 'rejected', code: 'NAMEPLATE_IN_USE', failedClaim: true });
    expect(r.seated(1)).toBe(true);
    expect(r.pairedRooms).toBe(3);
    expect(r.membership(12)).toEqual({ nameplate: 1, side: 'b', peer: 2, paired: true, piped: false });
  });

  it('burns one seat alone: the others stay claimable, and the nameplate is burned once the last seat is', () => {
    const r = threeSeats();
    r.claim(11, 1, 0);
    r.countMessage(1);
    r.countMessage(11);
    expect(r.burn(11, 0, ['x', 'y'])).toEqual({ nameplate: 1, a: 1, b: 11, remembered: true });
    expect(r.burnedNameplates).toBe(0);
    expect(r.claim(12, 1, 0)).toEqual({ kind: 'paired', side: 'b', peer: 2 });
    r.leave(2);
    r.leave(12);
    expect(r.claim(13, 1, 0)).toEqual({ kind: 'paired', side: 'b', peer: 3 });
    r.countMessage(3);
    r.countMessage(13);
    r.burn(13, 0, ['x', 'y']);
    expect(r.nameplates).toBe(0);
    expect(r.burnedNameplates).toBe(1);
    expect(r.claim(14, 1, 0)).toMatchObject({ code: 'NAMEPLATE_BURNED' });
  });

  it('sends a seat back to waiting when its claimer leaves before the key exchange completed', () => {
    const r = threeSeats();
    r.claim(11, 1, 0);
    expect(r.leave(11)).toEqual({ kind: 'unpaired', peer: 1 });
    expect(r.claim(12, 1, 0)).toEqual({ kind: 'paired', side: 'b', peer: 1 });
  });

  it('frees the nameplate once every seat has gone, not before', () => {
    const r = threeSeats();
    r.leave(1);
    r.leave(2);
    expect(r.allocate(9, 0)).toEqual({ kind: 'allocated', nameplate: 2 });
    r.leave(3);
    expect(r.allocate(10, 0)).toEqual({ kind: 'allocated', nameplate: 1 });
    // Its seats went with it: the old token joins nothing.
    expect(r.join(11, 1, TOKEN, 0)).toMatchObject({ code: 'NAMEPLATE_IN_USE' });
  });

  it('counts every seat against max-nameplates', () => {
    const r = rooms(2);
    r.allocate(1, 0, { total: 3, token: TOKEN });
    expect(r.join(2, 1, TOKEN, 0)).toEqual({ kind: 'waiting' });
    expect(r.join(3, 1, TOKEN, 0)).toEqual({ kind: 'rejected', code: 'RELAY_LIMIT', failedClaim: false });
  });

  it('expires each waiting seat after nameplate-ttl from its own join', () => {
    const r = rooms();
    r.allocate(1, 0, { total: 2, token: TOKEN });
    r.join(2, 1, TOKEN, 500);
    expect(r.expire(TTL)).toEqual([1]);
    expect(r.expire(TTL + 500)).toEqual([2]);
    expect(r.nameplates).toBe(0);
  });
});

describe('RelayCore with seats', () => {
  const observer = {
    seats: 0,
    rejected: () => undefined,
    paired: () => undefined,
    unpaired: () => undefined,
    seatJoined(): void {
      this.seats++;
    },
    burned: () => undefined,
    transfer: () => undefined,
    relayed: () => undefined,
  };
  const core = new RelayCore(
    { ...defaultRelayConfig, servesPage: false },
    { random: (n) => new Uint8Array(n).fill(7), observer, logger: silentLogger },
  );
  const send = (conn: number, msg: unknown) => {
    const text = JSON.stringify(msg);
    return core.text(conn, text, text.length, 0);
  };
  const connect = (address = '192.0.2.1'): number => {
    const { conn } = core.open(address, 0);
    send(conn, { type: 'hello', protocol: 1, agent: 't' });
    return conn;
  };

  it('answers allocate with seats with a token, join with claimed side a, and refuses seats beyond', () => {
    const a = connect();
    expect(send(a, { type: 'allocate', seats: 2 })).toEqual([
      { type: 'send', conn: a, msg: { type: 'allocated', nameplate: 1, token: TOKEN } },
    ]);
    const seat = connect();
    expect(send(seat, { type: 'join', nameplate: 1, token: TOKEN })).toEqual([
      { type: 'send', conn: seat, msg: { type: 'claimed', nameplate: 1, side: 'a' } },
    ]);
    expect(observer.seats).toBe(1);
    const extra = connect();
    expect(send(extra, { type: 'join', nameplate: 1, token: TOKEN })).toEqual([
      { type: 'send', conn: extra, msg: expect.objectContaining({ type: 'error', code: 'NAMEPLATE_IN_USE' }) },
      { type: 'close', conn: extra, code: 4004, reason: expect.any(String) },
    ]);
  });

  it('keeps a plain allocate exactly as it was, and refuses more than MAX_SEATS', () => {
    const a = connect();
    expect(send(a, { type: 'allocate' })).toEqual([
      { type: 'send', conn: a, msg: { type: 'allocated', nameplate: 2 } },
    ]);
    const b = connect();
    expect(send(b, { type: 'allocate', seats: MAX_SEATS + 1 })).toEqual([
      { type: 'send', conn: b, msg: expect.objectContaining({ type: 'error', code: 'RELAY_PROTOCOL' }) },
      { type: 'close', conn: b, code: 4001, reason: expect.any(String) },
    ]);
  });

  it('charges a refused join as a failed claim, but lets the sender join while its address is rate-limited', () => {
    const address = '192.0.2.9';
    const a = connect(address);
    expect(send(a, { type: 'allocate', seats: 2 })).toEqual([
      { type: 'send', conn: a, msg: { type: 'allocated', nameplate: 3, token: TOKEN } },
    ]);
    for (let i = 0; i < defaultRelayConfig.failedClaimsPerMinute; i++) {
      const wrong = connect(address);
      expect(send(wrong, { type: 'join', nameplate: 3, token: OTHER })[0]).toMatchObject({
        msg: { type: 'error', code: 'NAMEPLATE_IN_USE' },
      });
    }
    const claimer = connect(address);
    expect(send(claimer, { type: 'claim', nameplate: 3 })[0]).toMatchObject({
      msg: { type: 'error', code: 'RATE_LIMITED' },
    });
    const seat = connect(address);
    expect(send(seat, { type: 'join', nameplate: 3, token: TOKEN })).toEqual([
      { type: 'send', conn: seat, msg: { type: 'claimed', nameplate: 3, side: 'a' } },
    ]);
  });
});
