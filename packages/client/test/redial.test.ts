/**
 * A WebRTC path that dies mid-transfer is dialled again (PROTOCOL.md §6.4 "Attempts", paths.ts, rtc-attempts.ts):
 * the whole data plane of both sides (sendData, receiveData) against a switchboard of in-memory "WebRTC" paths whose
 * first one wedges as libdatachannel's usrsctp can (usrsctp issue #750): it takes frames and delivers none, never
 * erroring, and its close never reaches the other side. The faults live here, in the harness, never in the product.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeAead, nodeSha256 } from '@portunus/protocol/node';
import {
  ABILITY_RELAY,
  ABILITY_WEBRTC,
  createError,
  deriveSessionKeys,
  MAX_WEBRTC_ATTEMPTS,
  type PathKind,
  type Role,
  type SessionKeys,
  type Side,
} from '@portunus/protocol';
import {
  ControlMux,
  type DataContext,
  type DataPlaneOptions,
  type DirectConnector,
  type PathMove,
  type PeerLink,
  receiveData,
  type RelayClient,
  RtcAttempts,
  sendData,
  SignalInbox,
  type Transport,
  Wakeup,
  webrtcSignals,
} from '@portunus/client';
import { within } from './transport-suite.js';

/** One end of an in-memory path. A wedged end swallows what it is given; closing it never reaches the peer. */
class MemEnd implements Transport {
  peer!: MemEnd;
  private readonly inbox: Uint8Array[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  /** Frames this end still delivers before it wedges (Infinity: it never does). */
  deliverable = Infinity;

  constructor(readonly kind: PathKind = 'webrtc') {}

  async send(frame: Uint8Array): Promise<void> {
    if (this.ended) throw createError('INTERRUPTED', 'closed');
    if (this.deliverable <= 0) return;
    this.deliverable -= 1;
    this.peer.deliver(frame.slice());
    await new Promise<void>((r) => setImmediate(r)); // let the other side run, as a socket would
  }
  deliver(frame: Uint8Array): void {
    if (this.ended) return;
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
    const ends = this.deliverable === Infinity ? [this, this.peer] : [this];
    for (const end of ends) {
      end.ended = true;
      end.wake?.();
    }
  }
}

function memPath(kind: PathKind): { send: MemEnd; receive: MemEnd } {
  const ends = { send: new MemEnd(kind), receive: new MemEnd(kind) };
  ends.send.peer = ends.receive;
  ends.receive.peer = ends.send;
  return ends;
}

/** A promise the test resolves when it decides (a path held back until then). */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** What the sender's k-th dial (0 first) meets: a path that wedges, one that works, or a failure to connect. */
type Fate = 'wedges' | 'works' | 'fails';

/**
 * Hands each side's WebRTC connector the same in-memory path per dial, after a real offer/answer exchange over the
 * sealed signal link (so a signal of the wrong attempt breaks the exchange). The answering side also trickles an
 * `end` after its answer, which the offering side never reads during that attempt: it must be dropped later.
 */
class Switchboard {
  readonly dials: number[] = [];
  private readonly paths = new Map<number, { send: MemEnd; receive: MemEnd }>();

  /** `hold(dial)`: the sender's dial completes only once it resolves. */
  constructor(
    private readonly fate: (dial: number) => Fate,
    private readonly hold: (dial: number) => Promise<void> = async () => undefined,
  ) {}

  connector(role: Role): DirectConnector {
    return async (data, signal) => {
      const link = webrtcSignals(data.link);
      if (role === 'send') {
        const dial = this.dials.length;
        this.dials.push(dial);
        if (this.fate(dial) === 'fails') throw createError('DIRECT_FAILED', `dial ${dial} found no route`);
        await link.sendSignal({ kind: 'offer', sdp: `v=0\r\na=dial:${dial}\r\n` });
        const answer = await link.nextSignal(signal);
        if (answer.kind !== 'answer') throw createError('PROTOCOL', `expected an answer, got '${answer.kind}'`);
        await this.hold(dial);
        return this.path(dial).send;
      }
      const offer = await link.nextSignal(signal);
      if (offer.kind !== 'offer') throw createError('PROTOCOL', `expected an offer, got '${offer.kind}'`);
      const dial = Number(/a=dial:(\d+)/.exec(offer.sdp)![1]);
      await link.sendSignal({ kind: 'answer', sdp: offer.sdp });
      await link.sendSignal({ kind: 'end' });
      return this.path(dial).receive;
    };
  }

  private path(dial: number): { send: MemEnd; receive: MemEnd } {
    let ends = this.paths.get(dial);
    if (ends === undefined) {
      ends = memPath('webrtc');
      if (this.fate(dial) === 'wedges') ends.send.deliverable = 40;
      this.paths.set(dial, ends);
    }
    return ends;
  }
}

/** Two sides' session contexts, their sealed signal links back to back (through JSON, as on the wire). */
function sessions(abilities: string[]) {
  const keys: SessionKeys = deriveSessionKeys(randomBytes(64), randomBytes(16));
  const aborts = { send: new AbortController(), receive: new AbortController() };
  const inboxes = { send: new SignalInbox(aborts.send.signal), receive: new SignalInbox(aborts.receive.signal) };
  const cleanups: (() => Promise<void>)[] = [];
  const context = (role: Role, side: Side): DataContext => ({
    keys,
    side,
    role,
    abilities,
    signal: aborts[role].signal,
    link: {
      send: async (topic, body) =>
        inboxes[role === 'send' ? 'receive' : 'send'].push(topic, JSON.parse(JSON.stringify(body))),
      next: (topic, abort) => inboxes[role].next(topic, abort),
    },
    defer: (cleanup) => void cleanups.push(cleanup),
  });
  const end = async () => {
    aborts.send.abort(createError('CANCELLED', 'session over'));
    aborts.receive.abort(createError('CANCELLED', 'session over'));
    await Promise.all(cleanups.map((c) => c()));
  };
  return { send: context('send', 'a'), receive: context('receive', 'b'), aborts, end };
}

/** A control channel that carries nothing: these tests have no session machine. */
const quiet = {
  sendMessage: () => undefined,
  nextEvent: () => new Promise<never>(() => undefined),
  burn: () => undefined,
};

/** The relay's data pipe on one end of an in-memory path, opened once `opened` resolves. */
function memRelay(end: MemEnd, opened: Promise<void>): RelayClient {
  const pipe: Pick<RelayClient, 'openPipe' | 'sendData' | 'dataFrames'> = {
    openPipe: () => opened,
    sendData: (frame) => end.send(frame),
    dataFrames: () => end.frames(),
  };
  return pipe as RelayClient;
}

function plane(
  data: DataContext,
  connector: DirectConnector,
  stallMs: number,
  total: number,
  relay: RelayClient = {} as RelayClient,
) {
  const moves: PathMove[] = [];
  const log: string[] = [];
  const changes = new Wakeup();
  /** Resolves once `ok` holds of what this side told (its moves and debug lines). */
  const told = async (ok: () => boolean) => {
    while (!ok()) await changes.next();
  };
  const opts: DataPlaneOptions = {
    paths: { directTimeoutMs: 10_000, relay, connectors: { webrtc: connector } },
    data,
    aead: nodeAead,
    sha256: nodeSha256,
    events: {
      progress: () => undefined,
      moved: (m) => void (moves.push(m), changes.wake()),
      debug: (m) => void (log.push(m), changes.wake()),
    },
    now: () => performance.now(),
    total,
    stallMs,
    control: new ControlMux(quiet),
  };
  return { opts, moves, log, told };
}

const CHUNK = 16 * 1024;
const chunks = Array.from({ length: 300 }, () => randomBytes(CHUNK));
const whole = Buffer.concat(chunks);
async function* source() {
  for (const c of chunks) yield Uint8Array.from(c);
}

/**
 * `--transport webrtc` on both sides. The sender's stall rule (half of its stall timeout) finds the wedge; the
 * receiver's is long, so nothing here depends on which side's clock runs first on a busy machine.
 */
function transfer(fate: (dial: number) => Fate) {
  const board = new Switchboard(fate);
  const s = sessions([ABILITY_WEBRTC]);
  const sender = plane(s.send, board.connector('send'), 2_000, whole.length);
  const receiver = plane(s.receive, board.connector('receive'), 120_000, whole.length);
  const writes: Uint8Array[] = [];
  const received = receiveData(receiver.opts, { write: async (c) => void writes.push(Uint8Array.from(c)) });
  const sent = sendData(sender.opts, source());
  return { board, s, sender, receiver, writes, received, sent };
}

const kinds = (moves: PathMove[]) => moves.map((m) => `${m.from ?? '-'}→${m.to}${m.reason ? ` ${m.reason}` : ''}`);

describe('a WebRTC path that wedges mid-transfer is dialled again (§6.4 "Attempts")', () => {
  it('webrtc alone: the first path wedges, a second attempt carries the rest; every byte arrives once', async () => {
    const t = transfer((dial) => (dial === 0 ? 'wedges' : 'works'));
    try {
      const [sent, got] = await within(Promise.all([t.sent, t.received.done]), 'the transfer');
      expect(Buffer.concat(t.writes).equals(whole)).toBe(true);
      expect(got).toMatchObject({ bytes: whole.length, sha256: sent.sha256, transport: 'webrtc' });
      expect(t.board.dials).toEqual([0, 1]);
      expect(kinds(t.sender.moves)).toEqual(['-→webrtc first', 'webrtc→webrtc failover']);
      expect(kinds(t.receiver.moves)).toEqual(['-→webrtc', 'webrtc→webrtc']);
      expect(t.sender.log).toContain(`the WebRTC path was lost: dialling again (attempt 2 of ${MAX_WEBRTC_ATTEMPTS})`);
      // The wedged path's close never reached the receiver: the new attempt's offer closed it there.
      expect(t.receiver.log).toContain(
        `the sender dials WebRTC again (attempt 2 of ${MAX_WEBRTC_ATTEMPTS}): answering`,
      );
      // The first attempt's trickled `end`, never read during it, was dropped by the second one.
      expect(t.sender.log).toContain('dropped a signal of WebRTC attempt 1, now on 2');
    } finally {
      await t.s.end();
    }
  });

  it(`a connector that keeps failing: ${MAX_WEBRTC_ATTEMPTS} attempts in all, then INTERRUPTED`, async () => {
    const t = transfer((dial) => (dial === 0 ? 'wedges' : 'fails'));
    try {
      await expect(within(t.sent, 'the sender')).rejects.toMatchObject({
        code: 'INTERRUPTED',
        message: expect.stringMatching(/every data path was lost.*no acknowledgement from the receiver/),
      });
      expect(t.board.dials).toEqual([0, 1, 2]);
      expect(t.sender.log.filter((m) => /dial \d found no route/.test(m))).toHaveLength(MAX_WEBRTC_ATTEMPTS - 1);
      // The receiver waits for an attempt that may still come, until its session ends (the sender's error).
      t.s.aborts.receive.abort(createError('CANCELLED', 'session over'));
      await expect(within(t.received.done, 'the receiver')).rejects.toMatchObject({ code: 'CANCELLED' });
    } finally {
      await t.s.end();
    }
  });
});

describe('--transport auto: the data goes back from the relay to the WebRTC path dialled again', () => {
  it('WebRTC wedges, the data fails over to the relay, and the new WebRTC path is probed when it is up', async () => {
    // Held back by the test so that each step happens in this order: WebRTC first; the relay up only once the
    // sender dials again; the second WebRTC path up only once the relay carries; the rest of the data after that.
    const relayUp = gate();
    const secondUp = gate();
    const rest = gate();
    const board = new Switchboard(
      (dial) => (dial === 0 ? 'wedges' : 'works'),
      (dial) => (dial === 1 ? secondUp.opened : Promise.resolve()),
    );
    const s = sessions([ABILITY_RELAY, ABILITY_WEBRTC]);
    const relay = memPath('relay');
    const sender = plane(s.send, board.connector('send'), 2_000, whole.length, memRelay(relay.send, relayUp.opened));
    const receiver = plane(
      s.receive,
      board.connector('receive'),
      120_000,
      whole.length,
      memRelay(relay.receive, relayUp.opened),
    );
    const writes: Uint8Array[] = [];
    const received = receiveData(receiver.opts, { write: async (c) => void writes.push(Uint8Array.from(c)) });
    const sent = sendData(
      sender.opts,
      (async function* () {
        for (const [i, c] of chunks.entries()) {
          if (i === 100) await rest.opened;
          yield Uint8Array.from(c);
        }
      })(),
    );
    try {
      await within(
        sender.told(() => sender.log.some((m) => /dialling again \(attempt 2/.test(m))),
        'the redial',
      );
      relayUp.open();
      await within(
        sender.told(() => sender.moves.some((m) => m.to === 'relay')),
        'the relay carrying',
      );
      secondUp.open();
      await within(
        sender.told(() => sender.moves.length >= 3),
        'a move to the second WebRTC path',
      );
      rest.open();
      const [done] = await within(Promise.all([sent, received.done]), 'the transfer');
      expect(Buffer.concat(writes).equals(whole)).toBe(true);
      expect(done.bytes).toBe(whole.length);
      expect(kinds(sender.moves).slice(0, 3)).toEqual([
        '-→webrtc first',
        'webrtc→relay failover',
        'relay→webrtc probe',
      ]);
      expect(kinds(receiver.moves).slice(0, 3)).toEqual(['-→webrtc', 'webrtc→relay', 'relay→webrtc']);
      expect(board.dials).toEqual([0, 1]);
    } finally {
      relayUp.open();
      secondUp.open();
      rest.open();
      await s.end();
    }
  });
});

describe('attempts and their signals (rtc-attempts.ts)', () => {
  /** Two back-to-back peer links; `push` injects a body as if the peer had sent it. */
  function links() {
    const abort = new AbortController();
    const inboxes = { send: new SignalInbox(abort.signal), receive: new SignalInbox(abort.signal) };
    const link = (role: Role): PeerLink => ({
      send: async (topic, body) =>
        inboxes[role === 'send' ? 'receive' : 'send'].push(topic, JSON.parse(JSON.stringify(body))),
      next: (topic, next) => inboxes[role].next(topic, next),
    });
    return { link, inboxes, abort };
  }
  const SDP = 'v=0\r\n';
  const drops: string[] = [];
  const debug = (m: string) => void drops.push(m);

  it('each side reads only its current attempt: late signals of an older one are dropped unread', async () => {
    const { link, inboxes } = links();
    const sender = new RtcAttempts(link('send'), 'send', debug);
    const receiver = new RtcAttempts(link('receive'), 'receive', debug);
    await sender.linkFor(0).send(ABILITY_WEBRTC, { kind: 'offer', sdp: SDP });
    expect(await receiver.linkFor(0).next(ABILITY_WEBRTC)).toEqual({ kind: 'offer', sdp: SDP });
    // Attempt 0 is over; its candidate and end trickle in after the sender's next offer was sent.
    expect(sender.begin()).toBe(1);
    await receiver.linkFor(0).send(ABILITY_WEBRTC, { kind: 'end' });
    await sender.linkFor(1).send(ABILITY_WEBRTC, { kind: 'offer', sdp: SDP });
    await sender.linkFor(1).send(ABILITY_WEBRTC, { kind: 'end' });
    expect(await within(receiver.nextAttempt(new AbortController().signal), 'the next offer')).toBe(1);
    expect(await receiver.linkFor(1).next(ABILITY_WEBRTC)).toEqual({ kind: 'offer', sdp: SDP, attempt: 1 });
    expect(await receiver.linkFor(1).next(ABILITY_WEBRTC)).toEqual({ kind: 'end', attempt: 1 });
    // The sender, on attempt 1, drops the receiver's late `end` of attempt 0 and reads its answer of attempt 1.
    await receiver.linkFor(1).send(ABILITY_WEBRTC, { kind: 'answer', sdp: SDP });
    expect(await sender.linkFor(1).next(ABILITY_WEBRTC)).toEqual({ kind: 'answer', sdp: SDP, attempt: 1 });
    expect(drops).toContain('dropped a signal of WebRTC attempt 1, now on 2');
    // Other topics pass through untouched.
    inboxes.send.push('tcp-v1', { hints: [] });
    expect(await sender.linkFor(1).next('tcp-v1')).toEqual({ hints: [] });
  });

  it("a newer attempt's offer ends the receiver's current attempt, and is handed to the next", async () => {
    const { link, inboxes } = links();
    const receiver = new RtcAttempts(link('receive'), 'receive', debug);
    inboxes.receive.push(ABILITY_WEBRTC, { kind: 'offer', sdp: SDP, attempt: 2 });
    await expect(receiver.linkFor(0).next(ABILITY_WEBRTC)).rejects.toMatchObject({ code: 'DIRECT_FAILED' });
    expect(await receiver.nextAttempt(new AbortController().signal)).toBe(2);
    expect(receiver.left).toBe(false);
    expect(await receiver.linkFor(2).next(ABILITY_WEBRTC)).toMatchObject({ kind: 'offer', attempt: 2 });
  });

  it.each<[string, Role, unknown]>([
    ['a newer attempt on the sender (only the sender begins one)', 'send', { kind: 'answer', sdp: SDP, attempt: 1 }],
    ['a newer attempt that does not start with an offer', 'receive', { kind: 'end', attempt: 1 }],
    ['an attempt number out of range', 'receive', { kind: 'offer', sdp: SDP, attempt: MAX_WEBRTC_ATTEMPTS }],
    ['an attempt number that is not an integer', 'receive', { kind: 'end', attempt: '1' }],
  ])('%s is PROTOCOL', async (_, role, body) => {
    const { link, inboxes } = links();
    const attempts = new RtcAttempts(link(role), role, debug);
    inboxes[role].push(ABILITY_WEBRTC, body);
    await expect(attempts.linkFor(0).next(ABILITY_WEBRTC)).rejects.toMatchObject({ code: 'PROTOCOL' });
  });
});
