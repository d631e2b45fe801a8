/**
 * The two streams of path switching against each other in memory (switching-send.ts, switching-receive.ts,
 * PROTOCOL.md §14): paths that come up late, die, or (a hostile relay) replay and drop frames. The sink must get
 * every byte exactly once and in order, or the stream must fail CORRUPT; nothing else.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeAead } from '../../../packages/protocol/src/aead.node.js';
import { ABILITY_RELAY, ABILITY_SWITCH, ABILITY_TCP, ABILITY_WEBRTC, AckOpener, AckSealer, createError, FrameOpener, FrameSealer, parseFrameHeader, PortunusError, ResumingOpener, type PathKind } from '../../src/protocol.js';
import { SwitchingReceiver } from '../../src/transfer/switching-receive.js';
import { SwitchingSender } from '../../src/transfer/switching-send.js';
import { switchTestHooks } from '../../src/transfer/switching.js';
import { abilitiesFor } from '../../src/transfer/context.js';
import type { Transport } from '../../src/transport/transport.js';
import { within } from '../transport/transport-suite.js';

/** Rewrites what one end sends: return the frames to deliver instead (none to drop, several to duplicate). */
type Tap = (frame: Uint8Array) => Uint8Array[];

/** One end of an in-memory path; frames arrive in order unless a tap says otherwise. */
class MemEnd implements Transport {
  peer!: MemEnd;
  private readonly inbox: Uint8Array[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  constructor(
    readonly kind: PathKind,
    private readonly tap: Tap = (f) => [f],
  ) {}
  async send(frame: Uint8Array): Promise<void> {
    if (this.ended) throw createError('INTERRUPTED', 'closed');
    for (const f of this.tap(frame)) this.peer.deliver(f);
    await new Promise<void>((r) => setImmediate(r)); // let the other side run, as a socket would
  }
  deliver(frame: Uint8Array): void {
    this.inbox.push(frame);
    this.wake?.();
  }
  async *frames(): AsyncIterable<Uint8Array> {
    for (;;) {
      const f = this.inbox.shift();
      if (f !== undefined) yield f;
      else if (this.ended) return;
      else await new Promise<void>((r) => (this.wake = r));
    }
  }
  async close(): Promise<void> {
    for (const end of [this, this.peer]) {
      end.ended = true;
      end.wake?.();
    }
  }
}

function path(kind: PathKind, toReceiver?: Tap): { sender: MemEnd; receiver: MemEnd } {
  const sender = new MemEnd(kind, toReceiver);
  const receiver = new MemEnd(kind);
  sender.peer = receiver;
  receiver.peer = sender;
  return { sender, receiver };
}

const CHUNK = 1024;
const chunks = Array.from({ length: 200 }, () => randomBytes(CHUNK));
const whole = Buffer.concat(chunks);

/** A sender and a receiver with fresh keys, a small window (so acks matter) and a fast chooser. */
function pair(acking: { ackEveryBytes?: number; ackDelayMs?: number } = { ackEveryBytes: 2 * CHUNK }) {
  const dataKey = randomBytes(32);
  const ackKey = randomBytes(32);
  const writes: Uint8Array[] = [];
  const moves: string[] = [];
  const abort = new AbortController();
  const sender = new SwitchingSender({
    chunks: (async function* () {
      for (const c of chunks) {
        yield c;
        await new Promise<void>((r) => setImmediate(r));
      }
    })(),
    sealer: new FrameSealer(nodeAead(dataKey), 1),
    acks: new AckOpener(nodeAead(ackKey)),
    now: () => performance.now(),
    signal: abort.signal,
    onProgress: () => undefined,
    onSwitch: (from, to, reason) => void moves.push(`${from ?? '-'}→${to} ${reason}`),
    pendingPaths: () => 0,
    windowBytes: 8 * CHUNK,
    chooser: { probeMs: 5, rateWindowMs: 50, ratio: 1.5, probeBelow: Infinity },
  });
  const receiver = new SwitchingReceiver({
    opener: new ResumingOpener(new FrameOpener(nodeAead(dataKey), 1), 1),
    acks: new AckSealer(nodeAead(ackKey)),
    sink: { write: async (c) => void writes.push(Uint8Array.from(c)) },
    expected: whole.length,
    onProgress: () => undefined,
    onPath: () => undefined,
    pendingPaths: () => 0,
    ...acking,
  });
  const add = (p: { sender: MemEnd; receiver: MemEnd }) => {
    receiver.addPath(p.receiver);
    sender.addPath(p.sender);
  };
  return { sender, receiver, writes, moves, add, abort };
}

describe('switching streams in memory', () => {
  it('moves from the relay to a later path mid-stream; every byte is written exactly once', async () => {
    const t = pair();
    const relay = path('relay');
    t.add(relay);
    const sending = t.sender.run();
    while (t.writes.length < 50) await new Promise<void>((r) => setImmediate(r));
    t.add(path('tcp'));
    const [sent, got] = await Promise.all([sending, t.receiver.run()]);
    expect(Buffer.concat(t.writes).equals(whole)).toBe(true);
    expect(t.writes).toHaveLength(chunks.length);
    expect(got).toEqual(sent);
    expect(t.moves.slice(0, 2)).toEqual(['-→relay first', 'relay→tcp probe']);
  });

  it('the carrying path dies: the rest goes on the other one from the last ack, nothing lost or doubled', async () => {
    const t = pair();
    const relay = path('relay');
    const tcp = path('tcp');
    t.add(relay);
    t.add(tcp);
    const sending = t.sender.run();
    while (t.writes.length < 80) await new Promise<void>((r) => setImmediate(r));
    await tcp.sender.close();
    await Promise.all([sending, t.receiver.run()]);
    expect(Buffer.concat(t.writes).equals(whole)).toBe(true);
    expect(t.moves).toContain('tcp→relay failover');
  });

  it('a hostile relay replaying every frame, and old frames again later: duplicates are dropped, never written', async () => {
    const t = pair();
    const seen: Uint8Array[] = [];
    const relay = path('relay', (f) => {
      seen.push(f);
      return [f, f, seen[Math.floor(seen.length / 2)]!];
    });
    t.add(relay);
    await Promise.all([t.sender.run(), t.receiver.run()]);
    expect(t.writes).toHaveLength(chunks.length);
    expect(Buffer.concat(t.writes).equals(whole)).toBe(true);
  });

  it('a relay dropping one frame makes a gap: CORRUPT, and nothing after the gap is written', async () => {
    const t = pair();
    const relay = path('relay', (f) => {
      const h = parseFrameHeader(f);
      return !(h instanceof PortunusError) && h.index === 20 ? [] : [f];
    });
    t.add(relay);
    void t.sender.run().catch(() => undefined);
    await expect(t.receiver.run()).rejects.toMatchObject({ code: 'CORRUPT', message: expect.stringMatching(/unexpected index: expected 20, got 21/) });
    expect(t.writes).toHaveLength(20);
    t.abort.abort();
  });
});

describe('acks in batches', () => {
  /** Runs the whole stream over one relay path and counts the acks the receiver sent. */
  async function countAcks(acking: { ackEveryBytes?: number; ackDelayMs?: number }): Promise<number> {
    const t = pair(acking);
    const relay = path('relay');
    let acks = 0;
    const send = relay.receiver.send.bind(relay.receiver);
    relay.receiver.send = (frame) => (acks++, send(frame));
    t.add(relay);
    await within(Promise.all([t.sender.run(), t.receiver.run()]), 'the stream');
    expect(Buffer.concat(t.writes).equals(whole)).toBe(true);
    return acks;
  }

  it('one ack per ackEveryBytes of data at most, the FINAL frame acked at once', async () => {
    // 200 frames of 1 KiB, a window of 8: one ack per 4 frames, and the final one.
    const acks = await countAcks({ ackEveryBytes: 4 * CHUNK, ackDelayMs: 60_000 });
    expect(acks).toBeGreaterThan(0);
    expect(acks).toBeLessThanOrEqual(200 / 4 + 1);
  });

  it('a batch that never fills (a window smaller than the batch) is acked after ackDelayMs, so the sender goes on', async () => {
    expect(await countAcks({ ackEveryBytes: 1024 * CHUNK, ackDelayMs: 1 })).toBeGreaterThan(1);
  });
});

describe('PORTUNUS_TEST_* switching hooks', () => {
  it('are absent unless set, and parse byte counts and the direct paths to announce', () => {
    expect(switchTestHooks({})).toBeUndefined();
    expect(switchTestHooks({ PORTUNUS_TEST_WAIT_DIRECT_AT_BYTES: '1000', PORTUNUS_TEST_DIRECT_PATHS: 'webrtc' })).toEqual({ waitDirectAtBytes: 1000, directPaths: ['webrtc'] });
    expect(switchTestHooks({ PORTUNUS_TEST_DIRECT_PATHS: '' })).toEqual({ directPaths: [] });
    expect(() => switchTestHooks({ PORTUNUS_TEST_DIRECT_PATHS: 'relay' })).toThrow(/tcp and\/or webrtc/);
    expect(() => switchTestHooks({ PORTUNUS_TEST_WAIT_DIRECT_AT_BYTES: '-1' })).toThrow(/byte count/);
  });

  it('PORTUNUS_TEST_DIRECT_PATHS narrows only what auto announces', () => {
    const webrtcOnly = { directPaths: ['webrtc' as const] };
    expect(abilitiesFor('auto', webrtcOnly)).toEqual([ABILITY_RELAY, ABILITY_WEBRTC, ABILITY_SWITCH]);
    expect(abilitiesFor('auto', { directPaths: [] })).toEqual([ABILITY_RELAY, ABILITY_SWITCH]);
    expect(abilitiesFor('tcp', webrtcOnly)).toEqual(abilitiesFor('tcp'));
    expect(abilitiesFor('auto')).toContain(ABILITY_TCP);
  });
});
