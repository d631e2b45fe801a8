/**
 * The relay core with several instances (PROTOCOL.md §12), sans-IO: a rendezvous waits in `routing` for the shared
 * state's answer, and each answer becomes the right decision; the link header signs and checks; the options refuse a
 * wildcard host without --advertise.
 */
import { describe, expect, it } from 'vitest';
import { defaultRelayConfig, resolveRelayConfig } from '../src/config.js';
import { RelayCore } from '../src/core.js';
import { signLink, verifyLink, MAX_SKEW_MS } from '../src/link-header.js';
import { silentLogger } from '../src/logger.js';
import type { RelayAction } from '../src/relay-action.js';
import type { RelayObserver } from '../src/relay-observer.js';

const observer: RelayObserver = {
  rejected() {},
  paired() {},
  unpaired() {},
  seatJoined() {},
  burned() {},
  transfer() {},
  relayed() {},
};

function setup() {
  const failed: string[] = [];
  const burned: number[] = [];
  const core = new RelayCore(
    { ...defaultRelayConfig, servesPage: false, cluster: true },
    {
      random: (n) => new Uint8Array(n).fill(7),
      observer,
      logger: silentLogger,
      shared: { failedClaim: (key) => failed.push(key), burned: (n) => burned.push(n) },
    },
  );
  const send = (conn: number, msg: unknown): RelayAction[] => {
    const text = JSON.stringify(msg);
    return core.text(conn, text, text.length, 0);
  };
  const hello = (address = '192.0.2.1', link = false): number => {
    const { conn } = core.open(address, 0, { link });
    send(conn, { type: 'hello', protocol: 1, agent: 't' });
    return conn;
  };
  return { core, send, hello, failed, burned };
}

const codeOf = (actions: RelayAction[]): unknown =>
  actions.find((a): a is Extract<RelayAction, { type: 'send' }> => a.type === 'send' && a.msg.type === 'error')?.msg;

describe('the core with several instances (§12)', () => {
  it('asks for a route, allows only ping meanwhile, and allocates the nameplate the shared state reserved', () => {
    const { core, send, hello } = setup();
    const conn = hello();
    expect(send(conn, { type: 'allocate' })).toEqual([
      { type: 'route', conn, key: '192.0.2.1', request: { kind: 'allocate' } },
    ]);
    expect(send(conn, { type: 'ping' })).toEqual([{ type: 'send', conn, msg: { type: 'pong' } }]);
    expect(core.routed(conn, { kind: 'local', nameplate: 42 }, 0)).toEqual([
      { type: 'send', conn, msg: { type: 'allocated', nameplate: 42 } },
    ]);
    expect(core.held()).toEqual({ nameplates: [42], reconnects: [] });
    const other = hello();
    send(other, { type: 'claim', nameplate: 9 });
    expect(send(other, { type: 'claim', nameplate: 9 })).toContainEqual(
      expect.objectContaining({ type: 'close', conn: other, code: 4001 }),
    );
  });

  it('links a remote route, replaying the hello and the message as sent; a link is never linked again', () => {
    const { core, send, hello } = setup();
    const conn = hello();
    send(conn, { type: 'claim', nameplate: 5 });
    const [link] = core.routed(conn, { kind: 'remote', url: 'ws://10.0.0.2:4747' }, 0);
    expect(link).toEqual({
      type: 'link',
      conn,
      url: 'ws://10.0.0.2:4747',
      hello: JSON.stringify({ type: 'hello', protocol: 1, agent: 't' }),
      request: JSON.stringify({ type: 'claim', nameplate: 5 }),
    });
    expect(send(conn, { type: 'ping' })).toEqual([]);
    const linked = hello('192.0.2.9', true);
    send(linked, { type: 'claim', nameplate: 5 });
    expect(codeOf(core.routed(linked, { kind: 'remote', url: 'ws://10.0.0.3:4747' }, 0))).toMatchObject({
      code: 'RELAY_STATE_UNAVAILABLE',
    });
  });

  it('burned, rate-limited, full and unavailable become their errors; a burned claim is a failed claim', () => {
    const { core, send, hello, failed } = setup();
    const cases = [
      ['burned', 'NAMEPLATE_BURNED'],
      ['rate-limited', 'RATE_LIMITED'],
      ['full', 'RELAY_LIMIT'],
      ['unavailable', 'RELAY_STATE_UNAVAILABLE'],
    ] as const;
    for (const [kind, code] of cases) {
      const conn = hello();
      send(conn, { type: 'claim', nameplate: 3 });
      expect(codeOf(core.routed(conn, { kind }, 0))).toMatchObject({ code });
    }
    expect(failed).toEqual(['192.0.2.1']);
  });
});

describe('the link header (§12.4)', () => {
  const secret = Buffer.alloc(32, 1);
  const id = 'ab'.repeat(16);
  it('vouches for the address it was signed for, within the skew, under the same secret only', () => {
    const header = signLink(secret, id, '2001:db8::1', 1_000_000);
    expect(verifyLink(secret, header, 1_000_000)).toBe('2001:db8::1');
    expect(verifyLink(secret, header, 1_000_000 + MAX_SKEW_MS + 1)).toBeUndefined();
    expect(verifyLink(Buffer.alloc(32, 2), header, 1_000_000)).toBeUndefined();
    const parts = header.split('.');
    parts[3] = Buffer.from('192.0.2.66').toString('base64url');
    expect(verifyLink(secret, parts.join('.'), 1_000_000)).toBeUndefined();
    expect(verifyLink(secret, 'v1.x.y.z.w', 1_000_000)).toBeUndefined();
  });
});

describe('options with --redis', () => {
  it('a wildcard host needs --advertise', () => {
    expect(() => resolveRelayConfig({ host: '0.0.0.0', redis: 'redis://127.0.0.1:6379' })).toThrow(/advertise/);
    expect(() =>
      resolveRelayConfig({ host: '0.0.0.0', redis: 'redis://127.0.0.1:6379', advertise: 'ws://10.0.0.5:4747' }),
    ).not.toThrow();
  });
});
