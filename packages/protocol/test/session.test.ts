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
import { encodeSealed, MAX_PEER_SIGNALS, type SealedMessage } from '../src/peer-messages.js';
import { sealFrame } from '../src/frame.js';
import { CONTROL_STREAM } from '../src/streams.js';
import {
  explainEnd,
  initialState,
  step,
  type SessionAction,
  type SessionConfig,
  type SessionEvent,
  type SessionState,
} from '../src/session.js';

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
  constructor(
    a: SessionConfig,
    b: SessionConfig,
    private readonly tamper: Tamper = (_, x) => x,
  ) {
    this.state = { a: initialState(a), b: initialState(b) };
  }
  private readonly wire: { to: 'a' | 'b'; body: Uint8Array }[] = [];
  start(sid = SID): this {
    this.apply('a', { type: 'paired', side: 'a', sid, relayName: 'test-relay' });
    this.apply('b', { type: 'paired', side: 'b', sid, relayName: 'test-relay' });
    this.flush();
    return this;
  }
  /** Delivers only the messages in flight that `keep` accepts (a relay or a peer that stops early). */
  flushOnly(keep: (m: { to: 'a' | 'b'; body: Uint8Array }) => boolean): void {
    const kept = this.wire.splice(0).filter(keep);
    for (const m of kept) this.apply(m.to, { type: 'message', body: m.body });
  }
  /** Feeds `side` an event without delivering what it sends (held for flushOnly). */
  hold(side: 'a' | 'b', event: SessionEvent): void {
    this.apply(side, event);
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
    for (let m = this.wire.shift(); m !== undefined; m = this.wire.shift())
      this.apply(m.to, { type: 'message', body: m.body });
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

  it('tells the receiver when the sender reports the end before the stream ended here (peerSent)', () => {
    const p = new Pair(config('send'), config('receive')).start();
    p.feed('b', { type: 'decision', accept: true });
    p.feed('a', { type: 'dataSent', ...DIGEST });
    expect(p.kinds('b')).toEqual(['confirmed', 'offer', 'startReceiving', 'peerSent']);
    p.feed('b', { type: 'dataReceived', ...DIGEST });
    expect(p.kinds('b').at(-1)).toBe('commit');
  });

  it('sends nothing but the CPace share before confirmation, and the offer only sealed', () => {
    const p = new Pair(config('send'), config('receive')).start();
    const sent = p.log.a.filter((a) => a.type === 'send').map((a) => (a.type === 'send' ? a.body : new Uint8Array()));
    const pake = JSON.parse(fromUtf8(sent[0]!)!);
    expect(Object.keys(pake).sort()).toEqual(['abilities', 'role', 'sid', 'type', 'y']);
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

describe('session: the order of key confirmation', () => {
  it("side b confirms first; side a sends its confirmation only after checking b's", () => {
    const p = new Pair(config('send'), config('receive'));
    p.hold('a', { type: 'paired', side: 'a', sid: SID, relayName: 'test-relay' });
    p.hold('b', { type: 'paired', side: 'b', sid: SID, relayName: 'test-relay' });
    // Both pake shares cross; then only b's messages are delivered: a has sent nothing but its share.
    p.flushOnly(() => true);
    const aSent = () =>
      p.log.a
        .filter((x) => x.type === 'send')
        .map((x) => (x.type === 'send' ? JSON.parse(fromUtf8(x.body) ?? '{}').type : ''));
    expect(aSent()).toEqual(['pake']);
    expect(p.state.a.kind).toBe('awaitingConfirm');
    p.flushOnly((m) => m.to === 'a'); // b's confirm reaches a
    expect(aSent().slice(0, 2)).toEqual(['pake', 'confirm']);
    expect(p.kinds('a')).toEqual(['confirmed']);
  });

  it('a wrong code fails side a with WRONG_CODE and burns; side b learns it from the burn', () => {
    const p = new Pair(config('send'), config('receive', { code: { nameplate: 7, secret: 'H7K29B' } })).start();
    expect(p.kinds('a')).toEqual(['burn', 'fail']);
    expect(p.failure('a')?.code).toBe('WRONG_CODE');
    // b never saw a's confirmation: the relay's NAMEPLATE_BURNED close is what ends it, and means a wrong code.
    expect(p.state.b.kind).toBe('awaitingConfirm');
    const end = explainEnd(p.state.b, new PortunusError('NAMEPLATE_BURNED', 'burned'));
    expect(end.code).toBe('WRONG_CODE');
    expect(explainEnd(p.state.a, new PortunusError('RELAY_UNREACHABLE', 'gone')).code).toBe('RELAY_UNREACHABLE');
  });

  it('a relay that strips an ability (downgrade) breaks the key: WRONG_CODE', () => {
    const tamper: Tamper = (from, body) =>
      from === 'a' && JSON.parse(fromUtf8(body)!).type === 'pake' ? editJson(body, (o) => (o.abilities = [])) : body;
    const p = new Pair(config('send', { abilities: ['relay-v1', 'webrtc-v1'] }), config('receive'), tamper).start();
    expect(p.failure('a')?.code).toBe('WRONG_CODE');
    expect(p.kinds('b')).toEqual([]);
  });

  it('a relay that reorders the abilities breaks the key too', () => {
    const tamper: Tamper = (from, body) =>
      from === 'a' && JSON.parse(fromUtf8(body)!).type === 'pake'
        ? editJson(body, (o) => (o.abilities = ['webrtc-v1', 'relay-v1']))
        : body;
    const p = new Pair(config('send', { abilities: ['relay-v1', 'webrtc-v1'] }), config('receive'), tamper).start();
    expect(p.failure('a')?.code).toBe('WRONG_CODE');
  });

  it('a wrong confirmation from side a (b confirmed first) fails b with WRONG_CODE and burns', () => {
    const tamper: Tamper = (from, body) =>
      from === 'a' && JSON.parse(fromUtf8(body) ?? '{}').type === 'confirm'
        ? editJson(body, (o) => (o.mac = toBase64Url(new Uint8Array(32))))
        : body;
    const p = new Pair(config('send'), config('receive'), tamper).start();
    expect(p.kinds('b')).toEqual(['burn', 'fail']);
    expect(p.failure('b')?.code).toBe('WRONG_CODE');
  });
});

describe('session: a peer that leaves before the key exchange completed (unpaired)', () => {
  it('starts over at the next pairing, and the new run succeeds with the same code', () => {
    const p = new Pair(config('send'), config('receive'));
    p.hold('a', { type: 'paired', side: 'a', sid: SID, relayName: 'test-relay' });
    p.hold('b', { type: 'paired', side: 'b', sid: SID, relayName: 'test-relay' });
    p.flushOnly((m) => m.to === 'a'); // only b's share reaches a; then b leaves
    expect(p.state.a.kind).toBe('awaitingConfirm');
    p.feed('a', { type: 'unpaired' });
    expect(p.state.a.kind).toBe('idle');
    expect(p.kinds('a')).toEqual(['unpaired']);
    // A new claimer (a fresh machine for b), a new sid: a full run.
    p.state.b = initialState(config('receive', { random: seeded(9) }));
    p.start(Uint8Array.from({ length: 16 }, (_, i) => 100 + i));
    expect(p.kinds('a')).toEqual(['unpaired', 'confirmed']);
    expect(p.state.b.kind).toBe('deciding');
  });

  it("starts over from awaitingAnswer too (a's confirmation may not have reached b)", () => {
    const p = new Pair(config('send'), config('receive')).start();
    expect(p.state.a.kind).toBe('awaitingAnswer');
    p.feed('a', { type: 'unpaired' });
    expect(p.state.a.kind).toBe('idle');
  });

  it('once the receiver decides or data flows, the peer is gone: PEER_GONE', () => {
    const p = new Pair(config('send'), config('receive')).start();
    p.feed('b', { type: 'unpaired' });
    expect(p.failure('b')?.code).toBe('PEER_GONE');
    const q = new Pair(config('send'), config('receive')).start();
    q.feed('b', { type: 'decision', accept: true });
    q.feed('a', { type: 'unpaired' });
    expect(q.failure('a')?.code).toBe('PEER_GONE');
  });
});

describe('session: a share from an earlier pairing', () => {
  it("is ignored (it belongs to another sid): the run goes on with this pairing's share", () => {
    const p = new Pair(config('send'), config('receive'));
    const stale = new Pair(config('send', { random: seeded(5) }), config('receive'));
    stale.hold('a', {
      type: 'paired',
      side: 'a',
      sid: Uint8Array.from({ length: 16 }, () => 9),
      relayName: 'test-relay',
    });
    const old = stale.log.a.find((x) => x.type === 'send');
    p.hold('a', { type: 'paired', side: 'a', sid: SID, relayName: 'test-relay' });
    p.hold('b', { type: 'paired', side: 'b', sid: SID, relayName: 'test-relay' });
    p.hold('b', { type: 'message', body: old!.type === 'send' ? old!.body : new Uint8Array() }); // arrives first
    expect(p.state.b.kind).toBe('awaitingPake');
    expect(p.kinds('b')).toEqual([]);
    p.flushOnly(() => true);
    p.flushOnly(() => true);
    p.flushOnly(() => true);
    expect(p.kinds('a')).toEqual(['confirmed']);
    expect(p.kinds('b')).toEqual(['confirmed', 'offer']);
  });
});

describe('session: failures', () => {
  it('an identity element as CPace share fails with PAKE_FAILED and burns', () => {
    const tamper: Tamper = (from, body) =>
      from === 'a' && JSON.parse(fromUtf8(body)!).type === 'pake'
        ? editJson(body, (o) => (o.y = toBase64Url(new Uint8Array(32))))
        : body;
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
    expect(p.failure('b')?.code).toBe('REJECTED');
  });

  it('a receiver that already has the file refuses with FILE_EXISTS; the sender learns why', () => {
    const p = new Pair(config('send'), config('receive')).start();
    p.feed('b', { type: 'decision', accept: false, reason: 'FILE_EXISTS' });
    expect(p.failure('b')?.code).toBe('FILE_EXISTS');
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
  });

  it('a local file problem reaches the peer by its code and a fixed text, never by its paths', () => {
    for (const code of ['FILE_ERROR', 'FILE_EXISTS', 'DISK_FULL', 'FILE_CHANGED'] as const) {
      const p = new Pair(config('send'), config('receive')).start();
      p.feed('b', { type: 'decision', accept: true });
      p.feed('b', {
        type: 'abort',
        error: new PortunusError(code, 'no space left to write /home/ana/Downloads/secret-plans.pdf'),
      });
      expect(p.failure('b')?.message).toMatch(/secret-plans/); // this side's report keeps it
      expect(p.failure('a')?.code).toBe('PEER_FAILED');
      expect(p.failure('a')?.message).toContain(code);
      expect(p.failure('a')?.message).not.toMatch(/home|secret/);
    }
  });

  it('a peer failure of its own (disk full) is PEER_FAILED here, not a local file error', () => {
    const p = new Pair(config('send'), config('receive')).start();
    p.feed('b', { type: 'decision', accept: true });
    p.feed('b', { type: 'abort', error: new PortunusError('DISK_FULL', 'no space left') });
    expect(p.failure('a')?.code).toBe('PEER_FAILED');
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

describe('session: resuming an interrupted file (PROTOCOL.md §4.12)', () => {
  const CLAIM = { bytes: 600, sha256: 'cd'.repeat(32) };
  const actionsOf = (p: Pair, side: 'a' | 'b', type: string) => p.log[side].filter((a) => a.type === type);

  it('a claim that matches: the sender checks it, answers resume, and both start at the claimed byte', () => {
    const p = new Pair(config('send'), config('receive')).start();
    p.feed('b', { type: 'decision', accept: true, resume: CLAIM });
    expect(p.kinds('b')).toEqual(['confirmed', 'offer']);
    expect(actionsOf(p, 'a', 'checkResume')).toEqual([{ type: 'checkResume', claim: CLAIM }]);
    p.feed('a', { type: 'resumeChecked', matches: true });
    expect(actionsOf(p, 'a', 'startSending')).toEqual([{ type: 'startSending', from: 600 }]);
    expect(actionsOf(p, 'b', 'startReceiving')).toEqual([{ type: 'startReceiving', from: 600 }]);
    p.feed('a', { type: 'dataSent', ...DIGEST });
    p.feed('b', { type: 'dataReceived', ...DIGEST });
    p.feed('b', { type: 'committed' });
    expect(p.state.a.kind).toBe('done');
    expect(p.state.b.kind).toBe('done');
  });

  it('a claim that does not match: both start at 0', () => {
    const p = new Pair(config('send'), config('receive')).start();
    p.feed('b', { type: 'decision', accept: true, resume: CLAIM });
    p.feed('a', { type: 'resumeChecked', matches: false });
    expect(actionsOf(p, 'a', 'startSending')).toEqual([{ type: 'startSending', from: 0 }]);
    expect(actionsOf(p, 'b', 'startReceiving')).toEqual([{ type: 'startReceiving', from: 0 }]);
  });

  it('without a claim no resume message is sent and both start at 0', () => {
    const p = new Pair(config('send'), config('receive')).start();
    p.feed('b', { type: 'decision', accept: true });
    expect(actionsOf(p, 'a', 'checkResume')).toEqual([]);
    expect(actionsOf(p, 'a', 'startSending')).toEqual([{ type: 'startSending', from: 0 }]);
  });

  /** Seals a message as `side` would (its key, its next index): what a peer that breaks the rules can send. */
  function forge(p: Pair, side: 'a' | 'b', msg: SealedMessage): Uint8Array {
    const { channel } = p.state[side] as Extract<SessionState, { channel: unknown }>;
    return sealFrame(channel.seal, CONTROL_STREAM, channel.sealIndex, false, encodeSealed(msg));
  }

  it('a receiver never claims more than the offer holds; a sender told so fails with PROTOCOL', () => {
    const small: Offer = { kind: 'file', name: 'small', size: 10 };
    const own = new Pair(config('send', { offer: small }), config('receive')).start();
    own.feed('b', { type: 'decision', accept: true, resume: { bytes: 11, sha256: CLAIM.sha256 } });
    expect(own.failure('b')?.code).toBe('INTERNAL');

    const p = new Pair(config('send', { offer: small }), config('receive')).start();
    const answer = forge(p, 'b', { type: 'answer', accept: true, resume: { bytes: 11, sha256: CLAIM.sha256 } });
    p.feed('a', { type: 'message', body: answer });
    expect(p.failure('a')?.code).toBe('PROTOCOL');
    expect(actionsOf(p, 'a', 'checkResume')).toEqual([]);
  });

  it('a folder or bundle is resumed as its tar (checked by the sender); a stream has no prefix to claim', () => {
    const folder: Offer = { kind: 'folder', name: 'photos', size: 4608, files: 3, bytes: 1200 };
    const p = new Pair(config('send', { offer: folder }), config('receive')).start();
    p.feed('b', { type: 'decision', accept: true, resume: { bytes: 2048, sha256: CLAIM.sha256 } });
    expect(actionsOf(p, 'a', 'checkResume')).toEqual([
      { type: 'checkResume', claim: { bytes: 2048, sha256: CLAIM.sha256 } },
    ]);

    const stream: Offer = { kind: 'stream', name: 'stdin' };
    const own = new Pair(config('send', { offer: stream }), config('receive')).start();
    own.feed('b', { type: 'decision', accept: true, resume: CLAIM });
    expect(own.failure('b')?.code).toBe('INTERNAL');
    const q = new Pair(config('send', { offer: stream }), config('receive')).start();
    q.feed('a', { type: 'message', body: forge(q, 'b', { type: 'answer', accept: true, resume: CLAIM }) });
    expect(q.failure('a')?.code).toBe('PROTOCOL');
  });

  it('a resume message that names neither 0 nor the claim fails the receiver with PROTOCOL', () => {
    const p = new Pair(config('send'), config('receive')).start();
    p.hold('b', { type: 'decision', accept: true, resume: CLAIM });
    p.feed('b', { type: 'message', body: forge(p, 'a', { type: 'resume', bytes: 5 }) });
    expect(p.failure('b')?.code).toBe('PROTOCOL');
  });

  it('an unasked resume message fails the receiver with PROTOCOL', () => {
    const p = new Pair(config('send'), config('receive')).start();
    p.hold('b', { type: 'decision', accept: true });
    p.feed('b', { type: 'message', body: forge(p, 'a', { type: 'resume', bytes: 0 }) });
    expect(p.failure('b')?.code).toBe('PROTOCOL');
  });
});

describe('session: signals for the paths (topic = an agreed ability)', () => {
  const BOTH = ['relay-v1', 'webrtc-v1', 'tcp-v1'];
  const OFFER = { topic: 'webrtc-v1', body: { kind: 'offer', sdp: 'v=0\r\ns=-\r\n' } };
  const CANDIDATE = {
    topic: 'webrtc-v1',
    body: { kind: 'candidate', candidate: 'candidate:1 1 udp 1 192.0.2.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 },
  };
  const HINTS = { topic: 'tcp-v1', body: { hints: [{ host: '127.0.0.1', port: 40123 }] } };

  function accepted(a: string[] = BOTH, b: string[] = BOTH): Pair {
    const p = new Pair(config('send', { abilities: a }), config('receive', { abilities: b })).start();
    p.feed('b', { type: 'decision', accept: true });
    return p;
  }
  /** Seals a message as `side` would (its key, its next index): what a peer that breaks the rules can send. */
  function forge(p: Pair, side: 'a' | 'b', msg: SealedMessage): Uint8Array {
    const { channel } = p.state[side] as Extract<SessionState, { channel: unknown }>;
    return sealFrame(channel.seal, CONTROL_STREAM, channel.sealIndex, false, encodeSealed(msg));
  }
  const received = (p: Pair, side: 'a' | 'b') => p.log[side].filter((a) => a.type === 'signal');

  it('passes signals both ways, sealed, whatever the path makes of them', () => {
    const p = accepted();
    p.feed('a', { type: 'signal', ...OFFER });
    p.feed('b', { type: 'signal', ...CANDIDATE });
    p.feed('b', { type: 'signal', ...HINTS });
    expect(received(p, 'b')).toEqual([{ type: 'signal', ...OFFER }]);
    expect(received(p, 'a')).toEqual([
      { type: 'signal', ...CANDIDATE },
      { type: 'signal', ...HINTS },
    ]);
    const wire = p.log.a.filter((a) => a.type === 'send').at(-1);
    expect(wire?.type === 'send' && Buffer.from(wire.body).includes(Buffer.from('v=0'))).toBe(false);
    expect(p.state.a.kind).toBe('sending');
    // The rest of the transfer is unchanged.
    p.feed('a', { type: 'dataSent', ...DIGEST });
    p.feed('b', { type: 'dataReceived', ...DIGEST });
    p.feed('b', { type: 'committed' });
    expect(p.kinds('a').at(-1)).toBe('done');
    expect(p.kinds('b').at(-1)).toBe('done');
  });

  it('passes signals in every confirmed state, including late candidates after the data', () => {
    const p = new Pair(config('send', { abilities: BOTH }), config('receive', { abilities: BOTH })).start();
    p.feed('a', { type: 'signal', ...CANDIDATE }); // receiver still deciding
    expect(p.state.b.kind).toBe('deciding');
    expect(received(p, 'b')).toHaveLength(1);
    p.feed('b', { type: 'decision', accept: true });
    p.feed('b', { type: 'dataReceived', ...DIGEST });
    p.feed('a', { type: 'dataSent', ...DIGEST });
    p.feed('b', { type: 'signal', topic: 'webrtc-v1', body: { kind: 'end' } }); // sender awaiting its receipt
    expect(p.state.a.kind).toBe('awaitingReceipt');
    expect(received(p, 'a')).toEqual([{ type: 'signal', topic: 'webrtc-v1', body: { kind: 'end' } }]);
  });

  it('a state is a value: the one it was given never changes (counters live in the new state)', () => {
    const p = accepted();
    const before = structuredClone({ ...p.state.b, config: undefined });
    const frozen = p.state.b;
    p.feed('a', { type: 'signal', ...OFFER });
    expect({ ...structuredClone({ ...frozen, config: undefined }) }).toEqual(before);
    const channel = (s: SessionState) => (s as Extract<SessionState, { channel: unknown }>).channel;
    expect(channel(frozen).signals).toBe(0);
    expect(channel(p.state.b).signals).toBe(1);
    expect(channel(p.state.b).openIndex).toBe(channel(frozen).openIndex + 1);
  });

  it('refuses a signal whose topic was not agreed: PROTOCOL, and the peer is told', () => {
    const p = accepted(BOTH, ['relay-v1']);
    p.feed('b', { type: 'signal', ...OFFER });
    expect(p.failure('b')?.code).toBe('INTERNAL'); // the local side never sends one
    const q = accepted(BOTH, ['relay-v1']);
    q.feed('a', { type: 'message', body: forge(q, 'b', { type: 'signal', ...OFFER }) }); // a peer that does
    expect(q.failure('a')?.code).toBe('PROTOCOL');
    expect(q.failure('b')?.code).toBe('PEER_FAILED');
  });

  it(`bounds the signals a peer may send (${MAX_PEER_SIGNALS})`, () => {
    const p = accepted();
    for (let i = 0; i < MAX_PEER_SIGNALS; i++) p.feed('a', { type: 'signal', ...CANDIDATE });
    expect(received(p, 'b')).toHaveLength(MAX_PEER_SIGNALS);
    expect(p.failure('b')).toBeUndefined();
    p.feed('a', { type: 'signal', ...CANDIDATE });
    expect(p.failure('b')?.code).toBe('PROTOCOL');
    expect(p.failure('b')?.message).toMatch(/too many/);
  });
});
