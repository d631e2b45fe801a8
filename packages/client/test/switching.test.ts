/**
 * The two streams of path switching against each other in memory (switching-send.ts, switching-receive.ts,
 * PROTOCOL.md §5): paths that come up late, die, or (a hostile relay) replay and drop frames. The sink must get
 * every byte exactly once and in order, or the stream must fail CORRUPT; nothing else.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { nodeAead, nodeSha256 } from '@portunus/protocol/node';
import { webCryptoAead } from '@portunus/protocol/webcrypto';
import {
  ABILITY_RELAY,
  ABILITY_TCP,
  ABILITY_WEBRTC,
  AckOpener,
  AckSealer,
  createError,
  type DataAeadFactory,
  FrameOpener,
  FrameSealer,
  parseFrameHeader,
  PortunusError,
  ResumingOpener,
  type PathKind,
} from '@portunus/protocol';
import { abilitiesFor, agreedPaths, Link, SwitchingReceiver, SwitchingSender, type Transport } from '@portunus/client';
import { HeldAead, releaseNewestFirst } from '../../protocol/test/held-aead.js';
import { within } from './transport-suite.js';

/** Rewrites what one end sends: return the frames to deliver instead (none to drop, several to duplicate). */
type Tap = (frame: Uint8Array) => Uint8Array[];

/** One end of an in-memory path; frames arrive in order unless a tap says otherwise. */
class MemEnd implements Transport {
  peer!: MemEnd;
  private readonly inbox: Uint8Array[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  /** Set: the path stops delivering (a stall: nothing arrives, nothing fails). */
  stalled = false;
  constructor(
    readonly kind: PathKind,
    private readonly tap: Tap = (f) => [f],
  ) {}
  async send(frame: Uint8Array): Promise<void> {
    if (this.ended) throw createError('INTERRUPTED', 'closed');
    if (this.stalled) return;
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
function pair(
  acking: { ackEveryBytes?: number; ackDelayMs?: number } = { ackEveryBytes: 2 * CHUNK },
  opts: {
    stallMs?: number;
    source?: AsyncIterable<Uint8Array>;
    pending?: () => number;
    /** Each end's AEAD (default node:crypto on both). */
    aead?: { sender: DataAeadFactory; receiver: DataAeadFactory };
  } = {},
) {
  const aead = opts.aead ?? { sender: nodeAead, receiver: nodeAead };
  const log: string[] = [];
  const stallMs = opts.stallMs ?? 60_000;
  const dataKey = randomBytes(32);
  const ackKey = randomBytes(32);
  const writes: Uint8Array[] = [];
  const moves: string[] = [];
  const abort = new AbortController();
  const sender = new SwitchingSender({
    chunks:
      opts.source ??
      (async function* () {
        for (const c of chunks) {
          yield c;
          await new Promise<void>((r) => setImmediate(r));
        }
      })(),
    sealer: new FrameSealer(aead.sender(dataKey), 1),
    acks: new AckOpener(aead.sender(ackKey)),
    sha256: nodeSha256,
    now: () => performance.now(),
    signal: abort.signal,
    stallMs,
    onProgress: () => undefined,
    onSwitch: (from, to, reason) => void moves.push(`${from ?? '-'}→${to} ${reason}`),
    pendingPaths: opts.pending ?? (() => 0),
    debug: (m) => void log.push(m),
    windowBytes: 8 * CHUNK,
    chooser: { probeMs: 5, rateWindowMs: 50, ratio: 1.5, probeBelow: Infinity },
  });
  const receiver = new SwitchingReceiver({
    opener: new ResumingOpener(new FrameOpener(aead.receiver(dataKey), 1), 1),
    acks: new AckSealer(aead.receiver(ackKey)),
    sha256: nodeSha256,
    sink: { write: async (c) => void writes.push(Uint8Array.from(c)) },
    expected: opts.source === undefined ? whole.length : undefined,
    stallMs,
    now: () => performance.now(),
    onProgress: () => undefined,
    onPath: () => undefined,
    pendingPaths: opts.pending ?? (() => 0),
    ...acking,
  });
  const add = (p: { sender: MemEnd; receiver: MemEnd }) => {
    receiver.addPath(new Link(p.receiver));
    sender.addPath(new Link(p.sender));
  };
  return { sender, receiver, writes, moves, add, abort, log };
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

  it('the relay path comes back as a new path (a reconnect, PROTOCOL.md §2.13): the window is resent on it', async () => {
    // While the relay connection is away its path counts as pending, so neither side gives up.
    let away = false;
    const t = pair(undefined, { pending: () => (away ? 1 : 0) });
    const first = path('relay');
    t.add(first);
    const sending = t.sender.run();
    while (t.writes.length < 50) await new Promise<void>((r) => setImmediate(r));
    // The connection dies with frames in flight: they never arrive.
    away = true;
    first.sender.stalled = true;
    await new Promise<void>((r) => setImmediate(r));
    // The new connection's path may come up before the old one's end is heard; the old end must not kill it.
    const again = path('relay');
    t.add(again);
    away = false;
    await first.sender.close();
    const [sent, got] = await Promise.all([sending, t.receiver.run()]);
    expect(Buffer.concat(t.writes).equals(whole)).toBe(true);
    expect(t.writes).toHaveLength(chunks.length);
    expect(got).toEqual(sent);
    // The data moved to the new connection (reported as any move to a new path of the same kind, as after a redial).
    expect(t.moves).toEqual(['-→relay first', 'relay→relay failover']);
  });

  it('an ack held up on one path goes out as the newest when it goes, never behind what another path acked', async () => {
    const t = pair();
    const relay = path('relay');
    // The relay's ack direction stalls: every ack the receiver sends there waits until the test lets it go.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let heldAcks = 0;
    const sendAck = relay.receiver.send.bind(relay.receiver);
    relay.receiver.send = async (frame) => {
      heldAcks++;
      await gate;
      return sendAck(frame);
    };
    t.add(relay);
    const running = Promise.all([t.sender.run(), t.receiver.run()]);
    running.catch(() => undefined);
    const turn = () => new Promise<void>((r) => setImmediate(r));
    // The window (7 frames) fills on the relay, whose acks are held; then TCP takes over and acks far beyond.
    while (heldAcks === 0 || t.writes.length < 6) await turn();
    t.add(path('tcp'));
    while (t.writes.length < 40) await turn();
    release();
    const [sent, got] = await within(running, 'the stream');
    expect(got).toEqual(sent);
    expect(Buffer.concat(t.writes).equals(whole)).toBe(true);
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
    await expect(t.receiver.run()).rejects.toMatchObject({
      code: 'CORRUPT',
      message: expect.stringMatching(/unexpected index: expected 20, got 21/),
    });
    expect(t.writes).toHaveLength(20);
    t.abort.abort();
  });
});

describe('asynchronous AEADs: WebCrypto on one end (a page), node:crypto on the other (the CLI)', () => {
  /** Relay first, then a move to TCP mid-stream: frames resent on the new path, acks on both. */
  async function moveMidStream(t: ReturnType<typeof pair>): Promise<void> {
    t.add(path('relay'));
    const sending = t.sender.run();
    const halfway = async () => {
      while (t.writes.length < 50) await new Promise<void>((r) => setImmediate(r));
    };
    await within(Promise.race([halfway(), t.receiver.run()]), 'the first 50 chunks');
    t.add(path('tcp'));
    const [sent, got] = await within(Promise.all([sending, t.receiver.run()]), 'the stream');
    expect(got).toEqual(sent);
    expect(t.writes).toHaveLength(chunks.length);
    expect(Buffer.concat(t.writes).equals(whole)).toBe(true);
    expect(t.moves).toContain('relay→tcp probe');
  }

  it.each([
    ['WebCrypto sends, node:crypto receives', { sender: webCryptoAead, receiver: nodeAead }],
    ['node:crypto sends, WebCrypto receives', { sender: nodeAead, receiver: webCryptoAead }],
  ])('%s: every byte written exactly once, across a move between paths', async (_name, aead) => {
    await moveMidStream(pair(undefined, { aead }));
  });

  it('seals and opens that settle out of order (the newest first, on both ends) reorder nothing', async () => {
    const held: (() => void)[] = [];
    const heldAead = (key: Uint8Array) => new HeldAead(nodeAead(key), held);
    const t = pair(undefined, { aead: { sender: heldAead, receiver: heldAead } });
    let running = true;
    void (async () => {
      while (running) {
        releaseNewestFirst(held);
        await new Promise<void>((r) => setImmediate(r));
      }
    })();
    try {
      await moveMidStream(t);
    } finally {
      running = false;
    }
  });

  it('a tampered data frame, opened by WebCrypto: CORRUPT, and nothing from it on is written', async () => {
    const t = pair(undefined, { aead: { sender: nodeAead, receiver: webCryptoAead } });
    const relay = path('relay', (f) => {
      const h = parseFrameHeader(f);
      if (h instanceof PortunusError || h.streamId !== 1 || h.index !== 20) return [f];
      const bad = Uint8Array.from(f);
      bad[30] = bad[30]! ^ 0x01;
      return [bad];
    });
    t.add(relay);
    void t.sender.run().catch(() => undefined);
    await expect(t.receiver.run()).rejects.toMatchObject({
      code: 'CORRUPT',
      message: expect.stringMatching(/bad tag/),
    });
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

describe('liveness: the stall rule (stall.ts)', () => {
  it('a carrying path that stops delivering (no error, no acks) is found dead after the stall timeout; the data fails over', async () => {
    let relayUp = false;
    const t = pair(undefined, { stallMs: 400, pending: () => (relayUp ? 0 : 1) });
    const tcp = path('tcp');
    t.add(tcp);
    const sending = t.sender.run();
    while (t.writes.length < 20) await new Promise<void>((r) => setImmediate(r));
    tcp.sender.stalled = true; // the only path carrying stops moving: no error, no acks
    while (!t.log.some((m) => /no acknowledgement from the receiver/.test(m)))
      await new Promise<void>((r) => setTimeout(r, 10));
    relayUp = true;
    t.add(path('relay'));
    await within(Promise.all([sending, t.receiver.run()]), 'the stream');
    expect(Buffer.concat(t.writes).equals(whole)).toBe(true);
    expect(t.moves).toEqual(['-→tcp first', 'tcp→relay failover']);
  });

  it('the only path stalls: both ends fail INTERRUPTED, naming the stall', async () => {
    const t = pair(undefined, { stallMs: 300 });
    const relay = path('relay');
    t.add(relay);
    const sending = t.sender.run();
    while (t.writes.length < 20) await new Promise<void>((r) => setImmediate(r));
    relay.sender.stalled = true;
    await expect(within(sending, 'sender')).rejects.toMatchObject({
      code: 'INTERRUPTED',
      message: expect.stringMatching(/no acknowledgement from the receiver for 0.15 s/),
    });
    // The receiver notices the stall itself, or the path's end when the sender closes it: either way INTERRUPTED.
    await expect(within(t.receiver.run(), 'receiver')).rejects.toMatchObject({ code: 'INTERRUPTED' });
  });

  it('a quiet source is not a stall: empty frames keep the receiver waiting, and the data still arrives whole', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const source = (async function* () {
      yield chunks[0]!;
      await gate; // the source produces nothing for several stall timeouts
      yield* chunks.slice(1);
    })();
    // Fake clocks: the stall timeout is time passing, not the machine being slow. With real timers a busy machine
    // (npm run test:loaded beside other work) starved the event loop past 200 ms and the receiver gave up.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    try {
      const stallMs = 200;
      const t = pair(undefined, { stallMs, source });
      const relay = path('relay');
      let empties = 0;
      const send = relay.sender.send.bind(relay.sender);
      relay.sender.send = (frame) => (frame.length === 29 && empties++, send(frame));
      t.add(relay);
      const done = Promise.all([t.sender.run(), t.receiver.run()]);
      // Three stall timeouts of silence from the source, a quarter at a time.
      for (let quarter = 0; quarter < 12; quarter++) await vi.advanceTimersByTimeAsync(stallMs / 4);
      expect(empties).toBeGreaterThanOrEqual(6);
      release();
      for (let i = 0; i < 100 && t.writes.length < chunks.length; i++) await vi.advanceTimersByTimeAsync(5);
      const [sent, got] = await done;
      expect(got).toEqual(sent);
      expect(Buffer.concat(t.writes).equals(whole)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("the sender dialling a new path (senderAlive) starts the receiver's stall count again", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    try {
      const stallMs = 200;
      const t = pair(undefined, { stallMs, pending: () => 1 });
      let failed: unknown;
      t.receiver.run().catch((err: unknown) => (failed = err));
      await vi.advanceTimersByTimeAsync(150);
      t.receiver.senderAlive(); // PROTOCOL.md §6.4 "Attempts": the offer of a new WebRTC attempt
      await vi.advanceTimersByTimeAsync(150); // a whole stall timeout since the start, not since the offer
      expect(failed).toBeUndefined();
      await vi.advanceTimersByTimeAsync(100);
      expect(failed).toMatchObject({ code: 'INTERRUPTED', message: expect.stringMatching(/no data from the sender/) });
    } finally {
      vi.useRealTimers();
    }
  });

  it('the sender reports the end before the final frame arrived (peerSent): the receiver fails CORRUPT at once', async () => {
    const t = pair();
    const relay = path('relay', (f) => {
      const h = parseFrameHeader(f);
      return !(h instanceof PortunusError) && h.final ? [] : [f]; // the relay withholds the FINAL frame
    });
    t.add(relay);
    void t.sender.run().catch(() => undefined);
    while (t.writes.length < chunks.length - 1) await new Promise<void>((r) => setImmediate(r));
    t.receiver.peerSent();
    await expect(t.receiver.run()).rejects.toMatchObject({
      code: 'CORRUPT',
      message: expect.stringMatching(/before its final frame/),
    });
    t.abort.abort();
  });
});

describe('--transport policies as abilities', () => {
  it('announces one ability per allowed path, and the agreed paths are the intersection', () => {
    expect(abilitiesFor(['relay', 'tcp', 'webrtc'])).toEqual([ABILITY_RELAY, ABILITY_WEBRTC, ABILITY_TCP]);
    expect(abilitiesFor(['tcp'])).toEqual([ABILITY_TCP]);
    expect([...agreedPaths([ABILITY_RELAY, ABILITY_WEBRTC])]).toEqual(['relay', 'webrtc']);
    expect([...agreedPaths(['switch-v1', 'future-v9'])]).toEqual([]);
  });
});
