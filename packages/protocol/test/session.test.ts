/**
 * The session machine driven by recorded events, two machines wired back to back in memory: every action of
 * one becomes an event of the other, with hooks to tamper in between, and nothing but step() involved.
 */
import { describe, expect, it } from 'vitest';
import { nodeAead } from '../src/aead.node.js';
import { fromBase64Url, toBase64Url, utf8, fromUtf8 } from '../src/bytes.js';
import type { Code } from '../src/code.js';
import { PortunusError } from '../src/errors.js';
import type { Offer } from '../src/offer.js';
import { initialState, step, type SessionAction, type SessionConfig, type SessionEvent, type SessionState } from '../src/session.js';

const SID = Uint8Array.from({ length: 16 }, (_, i) => i);
const CODE: Code = { nameplate: 7, secret: 'H7K29A' };
const FILE_OFFER: Offer = { kind: 'file', name: 'report.zip', size: 1234 };
const DIGEST = { bytes: 1234, sha256: 'ab'.repeat(32) };

/** Deterministic "randomness": a counter stream, different per seed. */
function seeded(seed: number) {
  let n = seed;
  return (len: number) => Uint8Array.from({ length: len }, () => (n = (n * 1103515245 + 12345) & 0xff));
}

function config(role: 'send' | 'receive', over: Partial<SessionConfig> = {}): SessionConfig {
  return {
    role,
    code: CODE,
    abilities: ['relay-v1'],
    ...(role === 'send' ? { offer: FILE_OFFER } : {}),
    aead: nodeAead,
    random: seeded(role === 'send' ? 1 : 2),
    ...over,
  };
}

type Tamper = (from: 'a' | 'b', body: Uint8Array) => Uint8Array;

class Pair {
  state: Record<'a' | 'b', SessionState>;
  log: Record<'a' | 'b', SessionAction[]> = { a: [], b: [] };
  constructor(a: SessionConfig, b: SessionConfig, private readonly tamper: Tamper = (_, x) => x) {
    this.state = { a: initialState(a), b: initialState(b) };
  }
  private readonly wire: { to: 'a' | 'b'; body: Uint8Array }[] = [];
  start(): this {
    this.apply('a', { type: 'paired', side: 'a', sid: SID, relayName: 'test-relay' });
    this.apply('b', { type: 'paired', side: 'b', sid: SID, relayName: 'test-relay' });
    this.flush();
    return this;
  }
  /** Feeds one side an event, then delivers every message in flight, in order, as the relay would. */
  feed(side: 'a' | 'b', event: SessionEvent): void {
    this.apply(side, event);
    this.flush();
  }
  private apply(side: 'a' | 'b', event: SessionEvent): void {
    const r = step(this.state[side], event);
    this.state[side] = r.state;
    this.log[side].push(...r.actions);
    const to = side === 'a' ? 'b' : 'a';
    for (const a of r.actions) if (a.type === 'send') this.wire.push({ to, body: this.tamper(side, a.body) });
  }
  private flush(): void {
    for (let m = this.wire.shift(); m !== undefined; m = this.wire.shift()) this.apply(m.to, { type: 'message', body: m.body });
  }
  kinds(side: 'a' | 'b'): string[] {
    return this.log[side].filter((a) => a.type !== 'send').map((a) => a.type);
  }
  failure(side: 'a' | 'b'): PortunusError | undefined {
    const f = this.log[side].find((a) => a.type === 'fail');
    return f?.type === 'fail' ? f.error : undefined;
  }
}

function editJson(body: Uint8Array, edit: (o: Record<string, unknown>) => void): Uint8Array {
  const o = JSON.parse(fromUtf8(body)!) as Record<string, unknown>;
  edit(o);
  return utf8(JSON.stringify(o));
}

describe('session: a whole file transfer', () => {
  it('runs pake → confirm → offer → answer → data → receipts, with recorded actions on both sides', () => {
    const p = new Pair(config('send'), config('receive')).start();
    expect(p.kinds('a')).toEqual(['confirmed']);
    expect(p.kinds('b')).toEqual(['confirmed', 'offer']);
    const [ca, cb] = [p.log.a[2], p.log.b[2]];
    expect(ca?.type === 'confirmed' && cb?.type === 'confirmed' && ca.verifier === cb.verifier).toBe(true);

    p.feed('b', { type: 'decision', accept: true });
    expect(p.kinds('b')).toEqual(['confirmed', 'offer', 'startReceiving']);
    expect(p.kinds('a')).toEqual(['confirmed', 'startSending']);

    p.feed('b', { type: 'dataReceived', ...DIGEST }); // data may finish before the sender's digest arrives
    expect(p.kinds('b')).not.toContain('commit');
    p.feed('a', { type: 'dataSent', ...DIGEST });
    expect(p.kinds('b')).toEqual(['confirmed', 'offer', 'startReceiving', 'commit']);
    p.feed('b', { type: 'committed' });
    expect(p.kinds('b')).toEqual(['confirmed', 'offer', 'startReceiving', 'commit', 'done']);
    expect(p.kinds('a')).toEqual(['confirmed', 'startSending', 'done']);
    expect(p.log.a.at(-1)).toEqual({ type: 'done', ...DIGEST });
    expect(p.state.a.kind).toBe('done');
    expect(p.state.b.kind).toBe('done');
  });

  it('sends nothing but the CPace share before confirmation, and the offer only sealed', () => {
    const p = new Pair(config('send'), config('receive')).start();
    const sent = p.log.a.filter((a) => a.type === 'send').map((a) => (a.type === 'send' ? a.body : new Uint8Array()));
    const pake = JSON.parse(fromUtf8(sent[0]!)!);
    expect(Object.keys(pake).sort()).toEqual(['abilities', 'role', 'type', 'y']);
    expect(fromBase64Url(pake.y)).toHaveLength(32);
    expect(JSON.parse(fromUtf8(sent[1]!)!).type).toBe('confirm');
    // The third message is the offer: a sealed frame, in which the file name does not appear.
    expect(fromUtf8(sent[2]!) ?? '').not.toContain('report.zip');
    expect(Buffer.from(sent[2]!).includes(Buffer.from('report.zip'))).toBe(false);
  });

  it('delivers a text message inline and finishes both sides without a data stream', () => {
    const p = new Pair(config('send', { offer: { kind: 'text', text: 'hello' } }), config('receive')).start();
    const offer = p.log.b.find((a) => a.type === 'offer');
    expect(offer).toEqual({ type: 'offer', offer: { kind: 'text', text: 'hello' } });
    p.feed('b', { type: 'decision', accept: true });
    expect(p.kinds('a')).toEqual(['confirmed', 'done']);
    expect(p.kinds('b')).toEqual(['confirmed', 'offer', 'done']);
  });
});

describe('session: failures', () => {
  it('a wrong code fails both sides with WRONG_CODE and burns the nameplate', () => {
    const p = new Pair(config('send'), config('receive', { code: { nameplate: 7, secret: 'H7K29B' } })).start();
    for (const side of ['a', 'b'] as const) {
      expect(p.kinds(side)).toEqual(['burn', 'fail']);
      expect(p.failure(side)?.code).toBe('WRONG_CODE');
      expect(p.failure(side)?.exitCode).toBe(3);
    }
  });

  it('a relay that strips an ability (downgrade) breaks the key: WRONG_CODE', () => {
    const tamper: Tamper = (from, body) =>
      from === 'a' && JSON.parse(fromUtf8(body)!).type === 'pake' ? editJson(body, (o) => (o.abilities = [])) : body;
    const p = new Pair(config('send', { abilities: ['relay-v1', 'webrtc-v1'] }), config('receive'), tamper).start();
    expect(p.failure('a')?.code).toBe('WRONG_CODE');
    expect(p.failure('b')?.code).toBe('WRONG_CODE');
  });

  it('a relay that reorders the abilities breaks the key too', () => {
    const tamper: Tamper = (from, body) =>
      from === 'a' && JSON.parse(fromUtf8(body)!).type === 'pake' ? editJson(body, (o) => (o.abilities = ['webrtc-v1', 'relay-v1'])) : body;
    const p = new Pair(config('send', { abilities: ['relay-v1', 'webrtc-v1'] }), config('receive'), tamper).start();
    expect(p.failure('a')?.code).toBe('WRONG_CODE');
    expect(p.failure('b')?.code).toBe('WRONG_CODE');
  });

  it('an identity element as CPace share fails with PAKE_FAILED and burns', () => {
    const tamper: Tamper = (from, body) =>
      from === 'a' && JSON.parse(fromUtf8(body)!).type === 'pake' ? editJson(body, (o) => (o.y = toBase64Url(new Uint8Array(32)))) : body;
    const p = new Pair(config('send'), config('receive'), tamper).start();
    expect(p.kinds('b')).toEqual(['burn', 'fail']);
    expect(p.failure('b')?.code).toBe('PAKE_FAILED');
  });

  it('two senders are told so, with no PAKE spent', () => {
    const p = new Pair(config('send'), config('send')).start();
    expect(p.failure('a')?.code).toBe('BOTH_SENDING');
    expect(p.kinds('a')).toEqual(['fail']);
  });

  it('a declined offer fails the sender with REJECTED (exit 4)', () => {
    const p = new Pair(config('send'), config('receive')).start();
    p.feed('b', { type: 'decision', accept: false, reason: 'REJECTED' });
    expect(p.failure('a')?.code).toBe('REJECTED');
    expect(p.failure('a')?.exitCode).toBe(4);
    expect(p.failure('b')?.code).toBe('REJECTED');
  });

  it('a receiver that already has the file refuses with FILE_EXISTS; the sender learns why', () => {
    const p = new Pair(config('send'), config('receive')).start();
    p.feed('b', { type: 'decision', accept: false, reason: 'FILE_EXISTS' });
    expect(p.failure('b')?.code).toBe('FILE_EXISTS');
    expect(p.failure('b')?.exitCode).toBe(8);
    expect(p.failure('a')?.message).toMatch(/already has a file/);
  });

  it('a digest mismatch fails the receiver with CORRUPT, never commits, and tells the sender', () => {
    const p = new Pair(config('send'), config('receive')).start();
    p.feed('b', { type: 'decision', accept: true });
    p.feed('a', { type: 'dataSent', ...DIGEST });
    p.feed('b', { type: 'dataReceived', bytes: 1234, sha256: 'cd'.repeat(32) });
    expect(p.kinds('b')).not.toContain('commit');
    expect(p.failure('b')?.code).toBe('CORRUPT');
    expect(p.failure('a')?.code).toBe('CORRUPT');
  });

  it('a tampered sealed message fails with CORRUPT', () => {
    const tamper: Tamper = (from, body) => {
      if (from !== 'a' || fromUtf8(body)?.startsWith('{')) return body;
      const copy = body.slice();
      copy[copy.length - 1]! ^= 1;
      return copy;
    };
    const p = new Pair(config('send'), config('receive'), tamper).start();
    expect(p.failure('b')?.code).toBe('CORRUPT');
    expect(p.kinds('b')).not.toContain('offer');
  });

  it('a local abort after confirmation tells the peer', () => {
    const p = new Pair(config('send'), config('receive')).start();
    p.feed('b', { type: 'decision', accept: true });
    p.feed('a', { type: 'abort', error: new PortunusError('CANCELLED', 'user pressed Ctrl-C') });
    expect(p.failure('a')?.code).toBe('CANCELLED');
    expect(p.failure('b')?.code).toBe('CANCELLED');
    expect(p.failure('b')?.exitCode).toBe(4);
  });

  it('a peer failure of its own (disk full) is PEER_FAILED here, not a local file error', () => {
    const p = new Pair(config('send'), config('receive')).start();
    p.feed('b', { type: 'decision', accept: true });
    p.feed('b', { type: 'abort', error: new PortunusError('DISK_FULL', 'no space left') });
    expect(p.failure('a')?.code).toBe('PEER_FAILED');
    expect(p.failure('a')?.exitCode).toBe(7);
  });

  it('ignores every event once finished', () => {
    const p = new Pair(config('send'), config('send')).start();
    const before = p.log.a.length;
    p.feed('a', { type: 'message', body: utf8('{}') });
    expect(p.log.a.length).toBe(before);
  });

  it('rejects a sender without an offer', () => {
    expect(() => initialState({ ...config('send'), offer: undefined })).toThrow(PortunusError);
  });
});
