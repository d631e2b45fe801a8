import { describe, expect, it } from 'vitest';
import { Rooms } from '../src/rooms.js';

const TTL = 1000;
function rooms(overrides: Partial<ConstructorParameters<typeof Rooms>[0]> = {}): Rooms {
  return new Rooms({ maxNameplate: 999_999, maxNameplates: 100, nameplateTtlMs: TTL, burnTtlMs: TTL, ...overrides });
}

/** Each side sends one msg: the least a room needs before it can be burned. */
function exchange(r: Rooms, a: number, b: number): void {
  r.countMessage(a);
  r.countMessage(b);
}

describe('Rooms', () => {
  it('allocates the smallest free nameplate, skipping used and burned ones', () => {
    const r = rooms();
    expect(r.allocate(1, 0)).toEqual({ kind: 'allocated', nameplate: 1 });
    expect(r.claim(2, 3, 0)).toEqual({ kind: 'waiting', side: 'a' });
    expect(r.allocate(3, 0)).toEqual({ kind: 'allocated', nameplate: 2 });
    expect(r.allocate(4, 0)).toEqual({ kind: 'allocated', nameplate: 4 });
    r.leave(1);
    expect(r.allocate(5, 0)).toEqual({ kind: 'allocated', nameplate: 1 });
    // Burn 2 (pair it and exchange a message first), then 2 must be skipped.
    r.claim(6, 2, 0);
    exchange(r, 3, 6);
    r.burn(6, 0, ['x', 'y']);
    r.leave(5);
    expect(r.allocate(7, 0)).toEqual({ kind: 'allocated', nameplate: 1 });
    expect(r.allocate(8, 0)).toEqual({ kind: 'allocated', nameplate: 5 });
  });

  it('pairs the second claimer and rejects a third as in use', () => {
    const r = rooms();
    expect(r.claim(1, 42, 0)).toEqual({ kind: 'waiting', side: 'a' });
    expect(r.claim(2, 42, 0)).toEqual({ kind: 'paired', side: 'b', peer: 1 });
    expect(r.membership(1)).toEqual({ nameplate: 42, side: 'a', peer: 2, paired: true, piped: false });
    expect(r.membership(2)).toEqual({ nameplate: 42, side: 'b', peer: 1, paired: true, piped: false });
    expect(r.claim(3, 42, 0)).toEqual({ kind: 'rejected', code: 'NAMEPLATE_IN_USE', failedClaim: true });
  });

  it('keeps a paired nameplate bound until both sides have left', () => {
    const r = rooms();
    r.claim(1, 7, 0);
    r.claim(2, 7, 0);
    expect(r.leave(1)).toEqual({ kind: 'peer-left', peer: 2 });
    expect(r.claim(3, 7, 0)).toMatchObject({ code: 'NAMEPLATE_IN_USE' });
    expect(r.nameplates).toBe(1);
    expect(r.leave(2)).toEqual({ kind: 'alone' });
    expect(r.nameplates).toBe(0);
    expect(r.claim(3, 7, 0)).toEqual({ kind: 'waiting', side: 'a' });
  });

  it('frees an unpaired nameplate when its only side leaves', () => {
    const r = rooms();
    r.claim(1, 9, 0);
    expect(r.leave(1)).toEqual({ kind: 'alone' });
    expect(r.nameplates).toBe(0);
  });

  it('puts the room back to waiting when side b leaves before side a sent its second msg', () => {
    const r = rooms();
    r.claim(1, 9, 0);
    r.claim(2, 9, 0);
    r.countMessage(1);
    r.countMessage(2);
    r.countMessage(2);
    r.requestPipe(2);
    expect(r.leave(2)).toEqual({ kind: 'unpaired', peer: 1 });
    expect(r.membership(1)).toEqual({ nameplate: 9, side: 'a', peer: undefined, paired: false, piped: false });
    expect(r.pairedRooms).toBe(0);
    // The next claimer pairs with a afresh: the earlier pipe request and messages are forgotten.
    expect(r.claim(3, 9, 0)).toEqual({ kind: 'paired', side: 'b', peer: 1 });
    expect(r.requestPipe(1)).toBe(false);
    expect(r.requestPipe(3)).toBe(true);
    r.countMessage(1);
    expect(r.leave(3)).toEqual({ kind: 'unpaired', peer: 1 });
  });

  it('keeps the pairing once side a has sent its second msg (the key exchange is complete)', () => {
    const r = rooms();
    r.claim(1, 9, 0);
    r.claim(2, 9, 0);
    r.countMessage(1);
    r.countMessage(1);
    expect(r.leave(2)).toEqual({ kind: 'peer-left', peer: 1 });
  });

  it('side a leaving before the key exchange is peer-left for b, as ever', () => {
    const r = rooms();
    r.claim(1, 9, 0);
    r.claim(2, 9, 0);
    expect(r.leave(1)).toEqual({ kind: 'peer-left', peer: 2 });
  });

  it('an unpaired room keeps its creation time for the TTL', () => {
    const r = rooms();
    r.claim(1, 9, 0);
    r.claim(2, 9, TTL - 10);
    expect(r.leave(2)).toEqual({ kind: 'unpaired', peer: 1 });
    expect(r.expire(TTL - 1)).toEqual([]);
    expect(r.expire(TTL)).toEqual([1]);
  });

  it('rejects nameplates out of range', () => {
    const r = rooms({ maxNameplate: 99 });
    for (const n of [0, -1, 100, 1.5, Number.NaN]) {
      expect(r.claim(1, n, 0)).toEqual({ kind: 'rejected', code: 'RELAY_PROTOCOL', failedClaim: false });
    }
  });

  it('burns a paired room until the burn TTL passes', () => {
    const r = rooms();
    r.claim(1, 5, 0);
    r.claim(2, 5, 0);
    exchange(r, 1, 2);
    expect(r.burn(2, 100, ['x', 'y'])).toEqual({ nameplate: 5, a: 1, b: 2, remembered: true });
    expect(r.membership(1)).toBeUndefined();
    expect(r.claim(3, 5, 100 + TTL - 1)).toEqual({ kind: 'rejected', code: 'NAMEPLATE_BURNED', failedClaim: true });
    expect(r.claim(3, 5, 100 + TTL)).toEqual({ kind: 'waiting', side: 'a' });
  });

  it('does not burn an unpaired room, nor one where a side has sent no msg yet', () => {
    const r = rooms();
    r.claim(1, 5, 0);
    expect(r.burn(1, 0, ['x'])).toBeUndefined();
    expect(r.membership(1)?.nameplate).toBe(5);
    r.claim(2, 5, 0);
    r.countMessage(1);
    expect(r.burn(1, 0, ['x', 'y'])).toBeUndefined();
    expect(r.burn(2, 0, ['x', 'y'])).toBeUndefined();
    r.countMessage(2);
    expect(r.burn(2, 0, ['x', 'y'])).toMatchObject({ nameplate: 5 });
  });

  it('expires unpaired rooms after the TTL and forgets lapsed burns', () => {
    const r = rooms();
    r.claim(1, 1, 0);
    r.claim(2, 2, 500);
    r.claim(3, 3, 0);
    r.claim(4, 3, 0);
    exchange(r, 3, 4);
    r.burn(3, 0, ['x', 'y']);
    expect(r.burnedNameplates).toBe(1);
    expect(r.expire(TTL - 1)).toEqual([]);
    expect(r.expire(TTL)).toEqual([1]);
    expect(r.nameplates).toBe(1); // room 2 left
    expect(r.burnedNameplates).toBe(0); // the burn of 3 has lapsed
    expect(r.expire(TTL + 500)).toEqual([2]);
    expect(r.nameplates).toBe(0);
  });

  it('never expires a paired room', () => {
    const r = rooms();
    r.claim(1, 1, 0);
    r.claim(2, 1, 0);
    expect(r.expire(10 * TTL)).toEqual([]);
  });

  it('counts only nameplates in use against maxNameplates; burns are kept apart, oldest forgotten first', () => {
    const r = rooms({ maxNameplates: 2 });
    let conn = 100;
    for (const nameplate of [10, 11, 12]) {
      const [a, b] = [conn++, conn++];
      r.claim(a, nameplate, 0);
      r.claim(b, nameplate, 0);
      exchange(r, a, b);
      expect(r.burn(a, 0, [`a${nameplate}`, `b${nameplate}`])).toMatchObject({ remembered: true });
    }
    // Two burns remembered (the table holds maxNameplates of them): 11 and 12; 10 was forgotten.
    expect(r.burnedNameplates).toBe(2);
    expect(r.nameplates).toBe(0);
    expect(r.claim(1, 11, 0)).toMatchObject({ code: 'NAMEPLATE_BURNED' });
    expect(r.claim(1, 10, 0)).toEqual({ kind: 'waiting', side: 'a' });
    expect(r.allocate(2, 0)).toEqual({ kind: 'allocated', nameplate: 1 });
    expect(r.allocate(3, 0)).toEqual({ kind: 'rejected', code: 'RELAY_LIMIT' });
    expect(r.claim(4, 77, 0)).toEqual({ kind: 'rejected', code: 'RELAY_LIMIT', failedClaim: false });
    // Claiming an existing room as its second side needs no new nameplate.
    expect(r.claim(4, 1, 0)).toEqual({ kind: 'paired', side: 'b', peer: 2 });
  });

  it('opens the pipe once both sides asked, and reports the outcome once', () => {
    const r = rooms();
    r.claim(1, 1, 0);
    expect(r.requestPipe(1)).toBe(false); // not paired yet
    r.claim(2, 1, 0);
    expect(r.requestPipe(1)).toBe(false);
    expect(r.requestPipe(1)).toBe(false);
    expect(r.requestPipe(2)).toBe(true);
    expect(r.membership(2)?.piped).toBe(true);
    expect(r.addBytes(1, 10)).toBe(10);
    expect(r.addBytes(2, 5)).toBe(15);
    expect(r.reportOutcome(2)).toBe(true);
    expect(r.reportOutcome(1)).toBe(false);
  });
});
