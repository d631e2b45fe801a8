/**
 * The session driver against an in-memory control channel: two drivers back to back, no relay, no processes.
 * Covers what only the driver does: ordering of a relay close after the last message, every wait's bound,
 * starting over after `unpaired`, cancellation telling the peer, and hooks failing.
 */
import { describe, expect, it } from 'vitest';
import { nodeAead } from '@portunus/protocol/node';
import {
  createError,
  PortunusError,
  secureRandomBytes,
  type Code,
  type Offer,
  type SessionConfig,
} from '@portunus/protocol';
import { AsyncQueue, type ControlChannel, type DriverHooks, driveSession, type PeerEvent } from '@portunus/client';

const SID = new Uint8Array(16).fill(7);
const CODE: Code = { nameplate: 3, secret: 'ABC123' };
const OFFER: Offer = { kind: 'file', name: 'x.bin', size: 3 };
const DIGEST = { bytes: 3, sha256: 'ab'.repeat(32) };

/** One end of an in-memory relay: what one side sends, the other receives, in order; `end` closes both. */
class MemoryChannel implements ControlChannel {
  readonly inbox = new AsyncQueue<PeerEvent>(64);
  peer!: MemoryChannel;
  burned = 0;
  /** Drops outgoing messages when set (a peer that never answers). */
  mute = false;
  constructor(readonly side: 'a' | 'b') {}
  pair(sid = SID): void {
    void this.inbox.push({ type: 'paired', paired: { side: this.side, sid } });
  }
  sendMessage(body: Uint8Array): void {
    if (!this.mute) void this.peer.inbox.push({ type: 'message', body });
  }
  nextEvent(): Promise<PeerEvent> {
    return this.inbox.shift();
  }
  burn(): void {
    this.burned++;
    // Like the relay: both sides are closed after whatever was already queued for them.
    const err = createError('NAMEPLATE_BURNED', 'burned');
    this.inbox.fail(err);
    this.peer.inbox.fail(err);
  }
}

function pair(): [MemoryChannel, MemoryChannel] {
  const a = new MemoryChannel('a');
  const b = new MemoryChannel('b');
  a.peer = b;
  b.peer = a;
  a.pair();
  b.pair();
  return [a, b];
}

function config(role: 'send' | 'receive', code = CODE): SessionConfig {
  return {
    role,
    code,
    abilities: ['relay-v1'],
    aead: nodeAead,
    random: secureRandomBytes,
    ...(role === 'send' ? { offer: OFFER } : {}),
  };
}

function run(
  channel: MemoryChannel,
  _side: 'a' | 'b',
  cfg: SessionConfig,
  hooks: DriverHooks,
  extra: { signal?: AbortSignal; stallMs?: number; waitMs?: number } = {},
) {
  return driveSession(channel, {
    relayName: 'mem',
    config: cfg,
    hooks,
    waitMs: 60_000,
    stallMs: 60_000,
    ...extra,
  }).then(
    (digest) => ({ ok: true as const, digest }),
    (error: unknown) => ({ ok: false as const, error: error as PortunusError }),
  );
}

const senderHooks: DriverHooks = { sendData: async () => DIGEST };
const receiverHooks = (commits: string[]): DriverHooks => ({
  onOffer: async () => ({ accept: true }),
  receiveData: async () => DIGEST,
  commit: async () => void commits.push('commit'),
});

describe('driveSession', () => {
  it('runs a whole transfer between two drivers and resolves both with the digest', async () => {
    const [a, b] = pair();
    const commits: string[] = [];
    const [s, r] = await Promise.all([
      run(a, 'a', config('send'), senderHooks),
      run(b, 'b', config('receive'), receiverHooks(commits)),
    ]);
    expect(s).toEqual({ ok: true, digest: DIGEST });
    expect(r).toEqual({ ok: true, digest: DIGEST });
    expect(commits).toEqual(['commit']);
  });

  it.each([
    ['whose checkResume hook accepts it', true, 2],
    ['whose checkResume hook refuses it', false, 0],
    ['without a checkResume hook (the page)', undefined, 0],
  ] as const)(
    'a resume claim (PROTOCOL.md §4.12) to a sender %s: both start at the same byte',
    async (_, matches, from) => {
      const [a, b] = pair();
      const starts: string[] = [];
      const claims: unknown[] = [];
      const claim = { bytes: 2, sha256: 'cd'.repeat(32) };
      const checkResume = async (c: unknown): Promise<boolean> => (claims.push(c), matches === true);
      const [s, r] = await Promise.all([
        run(a, 'a', config('send'), {
          ...(matches === undefined ? {} : { checkResume }),
          sendData: async (_ctx, at) => (starts.push(`send ${at}`), DIGEST),
        }),
        run(b, 'b', config('receive'), {
          ...receiverHooks([]),
          onOffer: async () => ({ accept: true, resume: claim }),
          receiveData: async (_ctx, at) => (starts.push(`receive ${at}`), DIGEST),
        }),
      ]);
      expect([s.ok, r.ok]).toEqual([true, true]);
      expect(starts.sort()).toEqual([`receive ${from}`, `send ${from}`]);
      expect(claims).toEqual(matches === undefined ? [] : [claim]);
    },
  );

  it('a wrong code: both fail with WRONG_CODE even though the relay closes right after the confirm message', async () => {
    const [a, b] = pair();
    const [s, r] = await Promise.all([
      run(a, 'a', config('send'), senderHooks),
      run(b, 'b', config('receive', { nameplate: 3, secret: 'ABC124' }), receiverHooks([])),
    ]);
    expect(s.ok || s.error.code).toBe('WRONG_CODE');
    expect(r.ok || r.error.code).toBe('WRONG_CODE');
    expect(a.burned + b.burned).toBeGreaterThan(0);
  });

  it('a peer that never answers fails with TIMEOUT after the stall timeout (the handshake bound)', async () => {
    const [a, b] = pair();
    b.mute = true;
    const s = await run(a, 'a', config('send'), senderHooks, { stallMs: 200 });
    expect(s.ok || s.error.code).toBe('TIMEOUT');
    expect(s.ok || s.error.message).toMatch(/handshake/);
  });

  it('nobody comes: TIMEOUT after --timeout (waitMs), naming the missing side', async () => {
    const lonely = new MemoryChannel('a');
    lonely.peer = new MemoryChannel('b');
    const s = await run(lonely, 'a', config('send'), senderHooks, { waitMs: 200 });
    expect(s.ok || s.error.code).toBe('TIMEOUT');
    expect(s.ok || s.error.message).toMatch(/no receiver came/);
  });

  it('the receipt never comes: the sender fails INTERRUPTED after the stall timeout, and tells the receiver', async () => {
    const [a, b] = pair();
    const stuck: DriverHooks = { ...receiverHooks([]), commit: () => new Promise(() => undefined) };
    const [s, r] = await Promise.all([
      run(a, 'a', config('send'), senderHooks, { stallMs: 300 }),
      run(b, 'b', config('receive'), stuck),
    ]);
    expect(s.ok || s.error.code).toBe('INTERRUPTED');
    expect(s.ok || s.error.message).toMatch(/confirmed nothing/);
    expect(r.ok || r.error.code).toBe('PEER_FAILED');
  });

  it('a peer that leaves before the key exchange completed: this side starts over and completes with the next one', async () => {
    const [a, b] = pair();
    b.mute = true; // b's pake never reaches a; then b leaves, and the relay says so
    const unpaired: string[] = [];
    const commits: string[] = [];
    const sending = run(a, 'a', config('send'), { ...senderHooks, onUnpaired: () => void unpaired.push('unpaired') });
    await new Promise<void>((r) => setImmediate(r));
    void a.inbox.push({ type: 'unpaired' });
    const c = new MemoryChannel('b');
    c.peer = a;
    a.peer = c;
    const sid2 = new Uint8Array(16).fill(9);
    c.pair(sid2);
    void a.inbox.push({ type: 'paired', paired: { side: 'a', sid: sid2 } });
    const [s, r] = await Promise.all([sending, run(c, 'b', config('receive'), receiverHooks(commits))]);
    expect(unpaired).toEqual(['unpaired']);
    expect(s).toEqual({ ok: true, digest: DIGEST });
    expect(r).toEqual({ ok: true, digest: DIGEST });
  });

  it('the sender reports the end before the data stream ended here: the receiver hook hears it', async () => {
    const [a, b] = pair();
    const heard: string[] = [];
    let finish!: () => void;
    const receiver: DriverHooks = {
      ...receiverHooks([]),
      receiveData: () => new Promise((res) => (finish = () => res(DIGEST))),
      onPeerSent: () => (heard.push('peerSent'), finish()),
    };
    const [s, r] = await Promise.all([
      run(a, 'a', config('send'), senderHooks),
      run(b, 'b', config('receive'), receiver),
    ]);
    expect(heard).toEqual(['peerSent']);
    expect(s.ok).toBe(true);
    expect(r.ok).toBe(true);
  });

  it('cancelling during the transfer tells the peer (CANCELLED there too)', async () => {
    const [a, b] = pair();
    const cancel = new AbortController();
    let started!: () => void;
    const sending = new Promise<void>((res) => (started = res));
    const hooks: DriverHooks = {
      sendData: (ctx) =>
        new Promise((_, reject) => {
          started();
          ctx.signal.addEventListener('abort', () => reject(createError('CANCELLED', 'stopped')));
        }),
    };
    const receiver: DriverHooks = { ...receiverHooks([]), receiveData: () => new Promise(() => undefined) };
    const sp = run(a, 'a', config('send'), hooks, { signal: cancel.signal });
    const rp = run(b, 'b', config('receive'), receiver);
    await sending;
    cancel.abort();
    const [s, r] = await Promise.all([sp, rp]);
    expect(s.ok || s.error.code).toBe('CANCELLED');
    expect(r.ok || r.error.code).toBe('CANCELLED');
  });

  it('a failing hook aborts the session and the peer learns it failed', async () => {
    const [a, b] = pair();
    const failing: DriverHooks = {
      sendData: async () => Promise.reject(createError('FILE_CHANGED', 'the file changed')),
    };
    const [s, r] = await Promise.all([
      run(a, 'a', config('send'), failing),
      run(b, 'b', config('receive'), { ...receiverHooks([]), receiveData: () => new Promise(() => undefined) }),
    ]);
    expect(s.ok || s.error.code).toBe('FILE_CHANGED');
    expect(r.ok || r.error.code).toBe('PEER_FAILED');
  });

  it('a relay that closes mid-session rejects with the relay error', async () => {
    const [a, b] = pair();
    const hooks: DriverHooks = {
      sendData: async () => {
        a.inbox.fail(createError('PEER_GONE', 'the other side disconnected'));
        return new Promise(() => undefined);
      },
    };
    const rp = run(b, 'b', config('receive'), {
      ...receiverHooks([]),
      receiveData: () => new Promise(() => undefined),
    });
    const s = await run(a, 'a', config('send'), hooks);
    expect(s.ok || s.error.code).toBe('PEER_GONE');
    b.inbox.fail(createError('PEER_GONE', 'the other side disconnected'));
    expect(((await rp) as { error: PortunusError }).error.code).toBe('PEER_GONE');
  });
});
