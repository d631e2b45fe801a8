import { describe, expect, it } from 'vitest';
import { PING_BURST, PING_REFILL_MS } from '@portunus/protocol';
import { RelayCore } from '../src/core.js';
import type { RelayAction } from '../src/relay-action.js';
import type { RejectReason, RelayObserver } from '../src/relay-observer.js';
import { defaultRelayConfig, type RelayConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';

class Observed implements RelayObserver {
  rejections: RejectReason[] = [];
  transfers: boolean[] = [];
  bytes = 0;
  pairings = 0;
  unpairings = 0;
  burns = 0;
  seats = 0;
  rejected(reason: RejectReason): void {
    this.rejections.push(reason);
  }
  paired(): void {
    this.pairings++;
  }
  unpaired(): void {
    this.unpairings++;
  }
  seatJoined(): void {
    this.seats++;
  }
  burned(): void {
    this.burns++;
  }
  transfer(ok: boolean): void {
    this.transfers.push(ok);
  }
  relayed(bytes: number): void {
    this.bytes += bytes;
  }
}

const SID = new Uint8Array(16).fill(7);

function setup(config: Partial<RelayConfig & { servesPage: boolean }> = {}) {
  const observer = new Observed();
  const core = new RelayCore(
    { ...defaultRelayConfig, servesPage: false, nameplateTtlMs: 1000, idleTimeoutMs: 500, ...config },
    { random: (n) => SID.slice(0, n), observer, logger: silentLogger },
  );
  const send = (conn: number, msg: unknown, now = 0): RelayAction[] => {
    const text = typeof msg === 'string' ? msg : JSON.stringify(msg);
    return core.text(conn, text, Buffer.byteLength(text), now);
  };
  const hello = (address = '192.0.2.1', now = 0): number => {
    const { conn, actions } = core.open(address, now);
    expect(actions).toEqual([]);
    send(conn, { type: 'hello', protocol: 1, agent: 't' }, now);
    return conn;
  };
  return { core, observer, send, hello };
}

const errorAndClose = (conn: number, code: string, close: number) => [
  { type: 'send', conn, msg: expect.objectContaining({ type: 'error', code }) },
  { type: 'close', conn, code: close, reason: expect.any(String) },
];

describe('RelayCore', () => {
  it('answers hello with welcome (and the motd when configured)', () => {
    const { core, send } = setup({ name: 'test-relay', motd: 'hi' });
    const { conn } = core.open('192.0.2.1', 0);
    expect(send(conn, { type: 'hello', protocol: 1, agent: 'x' })).toEqual([
      { type: 'send', conn, msg: { type: 'welcome', protocol: 1, relay: 'test-relay', motd: 'hi' } },
    ]);
  });

  it('says in its welcome that it serves the page when it does', () => {
    const { core, send } = setup({ name: 'test-relay', servesPage: true });
    const { conn } = core.open('192.0.2.1', 0);
    expect(send(conn, { type: 'hello', protocol: 1, agent: 'x' })).toEqual([
      { type: 'send', conn, msg: { type: 'welcome', protocol: 1, relay: 'test-relay', page: true } },
    ]);
  });

  it('rejects an unsupported protocol version with RELAY_INCOMPATIBLE (4003)', () => {
    const { core, send, observer } = setup();
    const { conn } = core.open('192.0.2.1', 0);
    expect(send(conn, { type: 'hello', protocol: 2, agent: 'x' })).toEqual(
      errorAndClose(conn, 'RELAY_INCOMPATIBLE', 4003),
    );
    expect(observer.rejections).toEqual(['incompatible']);
  });

  it.each([
    ['anything before hello', [{ type: 'allocate' }]],
    [
      'a second hello',
      [
        { type: 'hello', protocol: 1, agent: 'x' },
        { type: 'hello', protocol: 1, agent: 'x' },
      ],
    ],
    [
      'msg before pairing',
      [
        { type: 'hello', protocol: 1, agent: 'x' },
        { type: 'msg', body: 'AA' },
      ],
    ],
    ['pipe before pairing', [{ type: 'hello', protocol: 1, agent: 'x' }, { type: 'pipe' }]],
    ['burn before pairing', [{ type: 'hello', protocol: 1, agent: 'x' }, { type: 'burn' }]],
    [
      'done before pairing',
      [
        { type: 'hello', protocol: 1, agent: 'x' },
        { type: 'done', ok: true },
      ],
    ],
    [
      'a second claim',
      [
        { type: 'hello', protocol: 1, agent: 'x' },
        { type: 'claim', nameplate: 3 },
        { type: 'claim', nameplate: 4 },
      ],
    ],
    [
      'claim after allocate',
      [{ type: 'hello', protocol: 1, agent: 'x' }, { type: 'allocate' }, { type: 'claim', nameplate: 4 }],
    ],
    ['an unknown type', [{ type: 'hello', protocol: 1, agent: 'x' }, { type: 'list' }]],
    ['invalid JSON', ['{"type":']],
    [
      'a nameplate out of range',
      [
        { type: 'hello', protocol: 1, agent: 'x' },
        { type: 'claim', nameplate: 1_000_000 },
      ],
    ],
  ])('closes with RELAY_PROTOCOL (4001) on %s', (_, messages) => {
    const { core, send, observer } = setup();
    const { conn } = core.open('192.0.2.1', 0);
    let last: RelayAction[] = [];
    for (const m of messages) last = send(conn, m);
    expect(last).toEqual(errorAndClose(conn, 'RELAY_PROTOCOL', 4001));
    expect(observer.rejections).toEqual(['bad_message']);
    // Anything after the decision to close is ignored.
    expect(send(conn, { type: 'allocate' })).toEqual([]);
  });

  it('closes oversized text with MESSAGE_TOO_BIG (1009)', () => {
    const { core, hello, observer } = setup({ maxMessageBytes: 1024 });
    const conn = hello();
    expect(core.text(conn, '{}', 1025, 0)).toEqual(errorAndClose(conn, 'MESSAGE_TOO_BIG', 1009));
    expect(observer.rejections).toEqual(['too_big']);
  });

  it('pairs: claimed b first, then paired to both with the same sid', () => {
    const { hello, send, observer } = setup();
    const a = hello();
    const b = hello();
    expect(send(a, { type: 'claim', nameplate: 12 })).toEqual([
      { type: 'send', conn: a, msg: { type: 'claimed', nameplate: 12, side: 'a' } },
    ]);
    expect(send(b, { type: 'claim', nameplate: 12 })).toEqual([
      { type: 'send', conn: b, msg: { type: 'claimed', nameplate: 12, side: 'b' } },
      { type: 'send', conn: a, msg: { type: 'paired', sid: SID, side: 'a' } },
      { type: 'send', conn: b, msg: { type: 'paired', sid: SID, side: 'b' } },
    ]);
    expect(observer.pairings).toBe(1);
  });

  it('forwards msg bodies unchanged, re-encoded without extra fields', () => {
    const { hello, send } = setup();
    const a = hello();
    const b = hello();
    send(a, { type: 'allocate' });
    send(b, { type: 'claim', nameplate: 1 });
    expect(send(a, { type: 'msg', body: 'AAEC', extra: 1 })).toEqual([
      { type: 'forward', from: a, to: b, msg: { type: 'msg', body: 'AAEC' } },
    ]);
    expect(send(b, { type: 'msg', body: '' })).toEqual([
      { type: 'forward', from: b, to: a, msg: { type: 'msg', body: '' } },
    ]);
  });

  it('opens the pipe only when both sides asked; binary before that is a protocol error', () => {
    const { core, hello, send, observer } = setup({ maxFrameBytes: 2048 });
    const a = hello();
    const b = hello();
    send(a, { type: 'allocate' });
    send(b, { type: 'claim', nameplate: 1 });
    expect(send(a, { type: 'pipe' })).toEqual([]);
    expect(send(b, { type: 'pipe' })).toEqual([
      { type: 'send', conn: b, msg: { type: 'pipe-open' } },
      { type: 'send', conn: a, msg: { type: 'pipe-open' } },
    ]);
    expect(core.binary(a, 100, 0)).toEqual({ forward: b });
    expect(core.binary(b, 50, 0)).toEqual({ forward: a });
    expect(observer.bytes).toBe(150);
    const c = hello();
    expect(core.binary(c, 1, 0)).toEqual({ actions: errorAndClose(c, 'RELAY_PROTOCOL', 4001) });
    expect(core.binary(a, 2049, 0)).toEqual({
      actions: [
        ...errorAndClose(a, 'MESSAGE_TOO_BIG', 1009),
        { type: 'send', conn: b, msg: { type: 'peer-left' } },
        { type: 'close', conn: b, code: 4006, reason: 'peer left' },
      ],
    });
  });

  it('enforces the transfer byte cap on both sides (4011)', () => {
    const { core, hello, send, observer } = setup({ transferByteCap: 1000 });
    const a = hello();
    const b = hello();
    send(a, { type: 'allocate' });
    send(b, { type: 'claim', nameplate: 1 });
    send(a, { type: 'pipe' });
    send(b, { type: 'pipe' });
    expect(core.binary(a, 600, 0)).toEqual({ forward: b });
    expect(core.binary(b, 400, 0)).toEqual({ forward: a });
    expect(core.binary(a, 1, 0)).toEqual({
      actions: [...errorAndClose(a, 'BYTE_CAP', 4011), ...errorAndClose(b, 'BYTE_CAP', 4011)],
    });
    expect(observer.rejections).toEqual(['byte_cap']);
  });

  it('burn closes both sides with 4009, counts a failed claim for both, and burns the nameplate', () => {
    const { hello, send, observer } = setup({ failedClaimsPerMinute: 1 });
    const a = hello('192.0.2.1');
    const b = hello('198.51.100.7');
    send(a, { type: 'allocate' });
    send(b, { type: 'claim', nameplate: 1 });
    send(a, { type: 'msg', body: 'AA' });
    send(b, { type: 'msg', body: 'AA' });
    expect(send(a, { type: 'burn' })).toEqual([
      ...errorAndClose(a, 'NAMEPLATE_BURNED', 4009),
      ...errorAndClose(b, 'NAMEPLATE_BURNED', 4009),
    ]);
    expect(observer.burns).toBe(1);
    const c = hello('203.0.113.9');
    expect(send(c, { type: 'claim', nameplate: 1 })).toEqual(errorAndClose(c, 'NAMEPLATE_BURNED', 4009));
    // Both addresses have used their one failed claim: their next claims are rate limited.
    const d = hello('198.51.100.7');
    expect(send(d, { type: 'claim', nameplate: 50 })).toEqual(errorAndClose(d, 'RATE_LIMITED', 4005));
    const e = hello('192.0.2.1');
    expect(send(e, { type: 'claim', nameplate: 51 })).toEqual(errorAndClose(e, 'RATE_LIMITED', 4005));
  });

  it.each([
    ['right after pairing', []],
    ['when only side a sent a msg', ['a']],
    ['when only side b sent a msg', ['b']],
  ])('refuses burn %s as out of order (4001), and the nameplate is not burned', (_, senders) => {
    const { hello, send, observer } = setup();
    const a = hello('192.0.2.1');
    const b = hello('198.51.100.7');
    send(a, { type: 'allocate' });
    send(b, { type: 'claim', nameplate: 1 });
    for (const side of senders) send(side === 'a' ? a : b, { type: 'msg', body: 'AA' });
    // b is closed for the violation; it left before the key exchange completed, so a waits on.
    expect(send(b, { type: 'burn' })).toEqual([
      ...errorAndClose(b, 'RELAY_PROTOCOL', 4001),
      { type: 'send', conn: a, msg: { type: 'unpaired' } },
    ]);
    expect(observer.burns).toBe(0);
    const c = hello('203.0.113.9');
    expect(send(c, { type: 'claim', nameplate: 1 })[0]).toEqual({
      type: 'send',
      conn: c,
      msg: { type: 'claimed', nameplate: 1, side: 'b' },
    });
  });

  it('rejects a third claimer with 4004 and counts it as a failed claim', () => {
    const { hello, send, observer } = setup({ failedClaimsPerMinute: 1 });
    const a = hello('192.0.2.1');
    const b = hello('192.0.2.2');
    send(a, { type: 'claim', nameplate: 9 });
    send(b, { type: 'claim', nameplate: 9 });
    const c = hello('192.0.2.3');
    expect(send(c, { type: 'claim', nameplate: 9 })).toEqual(errorAndClose(c, 'NAMEPLATE_IN_USE', 4004));
    const d = hello('192.0.2.3');
    expect(send(d, { type: 'claim', nameplate: 10 })).toEqual(errorAndClose(d, 'RATE_LIMITED', 4005));
    expect(observer.rejections).toEqual(['in_use', 'rate_limit']);
  });

  it('tells the peer when a side disconnects (peer-left, then 4006)', () => {
    const { core, hello, send } = setup();
    const a = hello();
    const b = hello();
    send(a, { type: 'allocate' });
    send(b, { type: 'claim', nameplate: 1 });
    expect(core.closed(a, 0)).toEqual([
      { type: 'send', conn: b, msg: { type: 'peer-left' } },
      { type: 'close', conn: b, code: 4006, reason: 'peer left' },
    ]);
    expect(core.closed(b, 0)).toEqual([]);
    expect(core.stats()).toEqual({
      connections: 0,
      nameplates: 0,
      burnedNameplates: 0,
      pairedRooms: 0,
      trackedAddresses: 0,
    });
  });

  describe('side b leaving before the key exchange completed (claim-and-leave)', () => {
    /** a allocated nameplate 1 from 192.0.2.1; b claimed it from `bAddress`. */
    function paired(config: Partial<RelayConfig> = {}, bAddress = '198.51.100.7') {
      const env = setup(config);
      const a = env.hello('192.0.2.1');
      env.send(a, { type: 'allocate' });
      const b = env.hello(bAddress);
      env.send(b, { type: 'claim', nameplate: 1 });
      return { ...env, a, b };
    }

    it('sends unpaired to a, which keeps its nameplate, and pairs it again with the next claimer', () => {
      const { core, send, hello, observer, a, b } = paired();
      send(a, { type: 'msg', body: 'AA' }); // a's pake
      send(b, { type: 'msg', body: 'AQ' });
      expect(core.closed(b, 5)).toEqual([{ type: 'send', conn: a, msg: { type: 'unpaired' } }]);
      expect(observer.unpairings).toBe(1);
      expect(core.stats()).toMatchObject({ nameplates: 1, pairedRooms: 0 });
      const c = hello('203.0.113.9');
      expect(send(c, { type: 'claim', nameplate: 1 })).toEqual([
        { type: 'send', conn: c, msg: { type: 'claimed', nameplate: 1, side: 'b' } },
        { type: 'send', conn: a, msg: { type: 'paired', sid: SID, side: 'a' } },
        { type: 'send', conn: c, msg: { type: 'paired', sid: SID, side: 'b' } },
      ]);
      expect(send(a, { type: 'msg', body: 'Ag' })).toEqual([
        { type: 'forward', from: a, to: c, msg: { type: 'msg', body: 'Ag' } },
      ]);
    });

    it('unpairs when b is closed for a protocol violation or by the WebSocket layer, too', () => {
      const first = paired();
      expect(first.send(first.b, { type: 'allocate' })).toEqual([
        ...errorAndClose(first.b, 'RELAY_PROTOCOL', 4001),
        { type: 'send', conn: first.a, msg: { type: 'unpaired' } },
      ]);
      const second = paired();
      expect(second.core.socketError(second.b, 'too_big', 0)).toEqual([
        { type: 'send', conn: second.a, msg: { type: 'unpaired' } },
      ]);
    });

    it('charges b a failed claim each time, until its claims are rate limited', () => {
      const { core, send, hello, a, b } = paired({ failedClaimsPerMinute: 2 });
      core.closed(b, 0);
      const again = hello('198.51.100.7');
      send(again, { type: 'claim', nameplate: 1 });
      expect(core.closed(again, 0)).toEqual([{ type: 'send', conn: a, msg: { type: 'unpaired' } }]);
      const third = hello('198.51.100.7');
      expect(send(third, { type: 'claim', nameplate: 1 })).toEqual(errorAndClose(third, 'RATE_LIMITED', 4005));
    });

    it('drops what a sent for the pairing that ended, until it is paired again', () => {
      const { core, send, hello, a, b } = paired();
      core.closed(b, 0);
      for (const leftover of [
        { type: 'msg', body: 'AA' },
        { type: 'pipe' },
        { type: 'burn' },
        { type: 'done', ok: false },
      ]) {
        expect(send(a, leftover)).toEqual([]);
      }
      expect(send(a, { type: 'claim', nameplate: 2 })).toEqual(errorAndClose(a, 'RELAY_PROTOCOL', 4001));
      // A side that was never paired may not send them.
      const lone = hello();
      send(lone, { type: 'allocate' });
      expect(send(lone, { type: 'msg', body: 'AA' })).toEqual(errorAndClose(lone, 'RELAY_PROTOCOL', 4001));
    });

    it('resets the pipe and the outcome with the pairing', () => {
      const { core, send, hello, observer, a, b } = paired();
      send(a, { type: 'pipe' });
      send(b, { type: 'done', ok: false });
      core.closed(b, 0);
      const c = hello('203.0.113.9');
      send(c, { type: 'claim', nameplate: 1 });
      expect(send(c, { type: 'pipe' })).toEqual([]);
      expect(core.binary(c, 10, 0)).toEqual({
        actions: [...errorAndClose(c, 'RELAY_PROTOCOL', 4001), { type: 'send', conn: a, msg: { type: 'unpaired' } }],
      });
      const d = hello('203.0.113.10');
      send(d, { type: 'claim', nameplate: 1 });
      send(d, { type: 'done', ok: true });
      expect(observer.transfers).toEqual([false, true]);
    });

    it('keeps the original creation time: the waiting room still expires nameplate-ttl after it was made', () => {
      const { core, a, b } = paired();
      core.closed(b, 900);
      expect(core.tick(999)).toEqual([]);
      expect(core.tick(1000)).toEqual(errorAndClose(a, 'TIMEOUT', 4008));
    });

    it('after a sent its second msg (pake, then confirm), b leaving is peer-left and 4006, as ever', () => {
      const { core, send, a, b } = paired();
      send(a, { type: 'msg', body: 'AA' });
      send(b, { type: 'msg', body: 'AA' });
      send(b, { type: 'msg', body: 'AA' });
      send(a, { type: 'msg', body: 'AA' });
      expect(core.closed(b, 0)).toEqual([
        { type: 'send', conn: a, msg: { type: 'peer-left' } },
        { type: 'close', conn: a, code: 4006, reason: 'peer left' },
      ]);
    });

    it('while the relay drains, a is closed with RELAY_SHUTDOWN instead of waiting again', () => {
      const { core, a, b } = paired();
      expect(core.shutdown(0)).toEqual([]);
      expect(core.closed(b, 0)).toEqual(errorAndClose(a, 'RELAY_SHUTDOWN', 4010));
    });
  });

  it('counts a transfer outcome once per room', () => {
    const { hello, send, observer } = setup();
    const a = hello();
    const b = hello();
    send(a, { type: 'allocate' });
    send(b, { type: 'claim', nameplate: 1 });
    send(a, { type: 'done', ok: true });
    send(b, { type: 'done', ok: false });
    send(a, { type: 'done', ok: true });
    expect(observer.transfers).toEqual([true]);
  });

  it('expires unpaired rooms (4008) and idle connections (4007) on tick', () => {
    const { core, hello, send, observer } = setup();
    const waiting = hello('192.0.2.1', 0);
    send(waiting, { type: 'claim', nameplate: 3 }, 0);
    const silent = core.open('192.0.2.2', 0).conn;
    const greeted = hello('192.0.2.3', 100);
    expect(core.tick(499)).toEqual([]);
    expect(core.tick(500)).toEqual(errorAndClose(silent, 'IDLE_TIMEOUT', 4007));
    expect(core.tick(600)).toEqual(errorAndClose(greeted, 'IDLE_TIMEOUT', 4007));
    expect(core.tick(1000)).toEqual(errorAndClose(waiting, 'TIMEOUT', 4008));
    expect(observer.rejections).toEqual(['idle', 'idle', 'expired']);
  });

  it('refuses connections over the caps with RELAY_LIMIT (4013)', () => {
    const { core, observer } = setup({ maxConnections: 3, maxConnectionsPerIp: 2 });
    expect(core.open('192.0.2.1', 0).actions).toEqual([]);
    expect(core.open('192.0.2.1', 0).actions).toEqual([]);
    const third = core.open('192.0.2.1', 0);
    expect(third.actions).toEqual(errorAndClose(third.conn, 'RELAY_LIMIT', 4013));
    expect(core.open('192.0.2.2', 0).actions).toEqual([]);
    const full = core.open('192.0.2.3', 0);
    expect(full.actions).toEqual(errorAndClose(full.conn, 'RELAY_LIMIT', 4013));
    // A refused connection does not hold a slot once its socket is gone.
    core.closed(third.conn, 0);
    core.closed(1, 0);
    expect(core.open('192.0.2.3', 0).actions).toEqual([]);
    expect(observer.rejections).toEqual(['limit', 'limit']);
  });

  it('on shutdown closes unpaired connections now and the rest with closeAll', () => {
    const { core, hello, send } = setup();
    const a = hello();
    const b = hello();
    const lone = hello();
    send(a, { type: 'allocate' });
    send(b, { type: 'claim', nameplate: 1 });
    expect(core.shutdown(0)).toEqual(errorAndClose(lone, 'RELAY_SHUTDOWN', 4010));
    const late = core.open('192.0.2.9', 0);
    expect(late.actions).toEqual(errorAndClose(late.conn, 'RELAY_SHUTDOWN', 4010));
    expect(core.closeAll()).toEqual([
      ...errorAndClose(a, 'RELAY_SHUTDOWN', 4010),
      ...errorAndClose(b, 'RELAY_SHUTDOWN', 4010),
    ]);
  });
});

describe('RelayCore: ping and pong (PROTOCOL.md §2.8)', () => {
  const PING = { type: 'ping' };
  const pong = (conn: number) => [{ type: 'send', conn, msg: { type: 'pong' } }];

  it('answers ping with pong in every phase after hello: ready, waiting, paired', () => {
    const { hello, send } = setup();
    const a = hello();
    expect(send(a, PING)).toEqual(pong(a));
    send(a, { type: 'allocate' });
    expect(send(a, PING)).toEqual(pong(a));
    const b = hello('192.0.2.2');
    send(b, { type: 'claim', nameplate: 1 });
    expect(send(a, PING)).toEqual(pong(a));
    expect(send(b, PING)).toEqual(pong(b));
  });

  it('refuses a ping before hello (hello comes first)', () => {
    const { core, send, observer } = setup();
    const { conn } = core.open('192.0.2.1', 0);
    expect(send(conn, PING)).toEqual(errorAndClose(conn, 'RELAY_PROTOCOL', 4001));
    expect(observer.rejections).toEqual(['bad_message']);
  });

  it('does not count a ping as progress: a client that only pings still meets the idle timeout', () => {
    const { core, hello, send } = setup();
    const a = hello('192.0.2.1', 0);
    expect(send(a, PING, 400)).toEqual(pong(a));
    expect(core.tick(500)).toEqual(errorAndClose(a, 'IDLE_TIMEOUT', 4007));
  });

  it(`allows ${PING_BURST} pings at once and one per ${PING_REFILL_MS} ms after, for ever`, () => {
    const { hello, send } = setup();
    const a = hello();
    send(a, { type: 'allocate' });
    for (let i = 0; i < PING_BURST; i++) expect(send(a, PING, 0)).toEqual(pong(a));
    for (let t = 1; t <= 100; t++) expect(send(a, PING, t * PING_REFILL_MS)).toEqual(pong(a));
  });

  it('closes a client that pings faster (RELAY_PROTOCOL, 4001), and tells its peer', () => {
    const { hello, send, observer } = setup();
    const a = hello();
    send(a, { type: 'allocate' });
    const b = hello('192.0.2.2');
    send(b, { type: 'claim', nameplate: 1 });
    for (let i = 0; i < PING_BURST; i++) send(b, PING, 0);
    // Half a refill later there is still no whole ping left.
    expect(send(b, PING, PING_REFILL_MS / 2)).toEqual([
      ...errorAndClose(b, 'RELAY_PROTOCOL', 4001),
      { type: 'send', conn: a, msg: { type: 'unpaired' } },
    ]);
    expect(observer.rejections).toEqual(['rate_limit']);
  });
});
