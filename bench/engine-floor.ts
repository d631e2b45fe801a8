/**
 * What a WebRTC engine costs on its own (issue #18's WebRTC targets): two processes, one peer connection each,
 * joined on loopback with complete descriptions through the parent, one ordered reliable data channel, and the
 * sender pushing messages of the size the CLI sends (a sealed 256 KiB chunk) with the CLI's queue marks for that
 * engine. No file, no encryption of our own, no hashing, no protocol: only the engine's DTLS, SCTP and UDP. The CPU
 * it takes per GiB, added to the essential work's (ceiling.ts: file, AES-256-GCM, SHA-256), is the least a WebRTC
 * path can cost; set against the tcp path's own CPU it is the floor of the "× tcp" ratio.
 *
 * `node dist/bench/engine-floor.js [werift|libdatachannel] [MB]` prints one JSON line; the roles run as children.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mb } from './processes.js';
import { ownPeakRssBytes } from './own-peak.js';
import { startedAs } from './entry.js';

export type FloorEngine = 'werift' | 'libdatachannel';

/** A 256 KiB chunk sealed as one frame (its header and tag): what the CLI puts in one message. */
const MESSAGE_BYTES = 256 * 1024 + 28;
/** The CLI's marks (ndc-connect.ts, webrtc.ts): send waits above the high mark, wakes at the low one. */
const MARKS: Record<FloorEngine, { high: number; low: number }> = {
  libdatachannel: { high: 1024 * 1024, low: 512 * 1024 },
  werift: { high: 256 * 1024, low: 128 * 1024 },
};
/** A hang detector only. */
const DEADLINE_MS = 600_000;

type ToChild = { type: 'description'; sdp: string; kind: string } | { type: 'stop' };
type FromChild =
  | { type: 'description'; sdp: string; kind: string }
  | { type: 'open' }
  | { type: 'received'; bytes: number; cpuSeconds: number; peakRss: number }
  | { type: 'sent'; cpuSeconds: number; peakRss: number };

export interface FloorFigures {
  engine: FloorEngine;
  bytes: number;
  /** Sender + receiver CPU seconds from the open channel to the last byte, per GiB. */
  cpuPerGiB: number;
  mbps: number;
  peakRss: number;
}

/** One end: the engine behind a few calls, so the loop below is the same for both. */
interface End {
  describe(): Promise<{ sdp: string; kind: string }>;
  accept(sdp: string, kind: string): Promise<void>;
  opened(): Promise<void>;
  send(data: Uint8Array): void;
  buffered(): number;
  onLow(mark: number, fn: () => void): void;
  onMessage(fn: (bytes: number) => void): void;
  close(): Promise<void>;
}

async function ndcEnd(offerer: boolean): Promise<End> {
  const ndc = await import('node-datachannel');
  const pc = new ndc.PeerConnection('floor', { iceServers: [], maxMessageSize: 1024 * 1024 + 64 });
  const gathered = new Promise<void>((resolve) => pc.onGatheringStateChange((s) => s === 'complete' && resolve()));
  let dc: import('node-datachannel').DataChannel | undefined;
  const channel = new Promise<import('node-datachannel').DataChannel>((resolve) => {
    if (offerer) resolve((dc = pc.createDataChannel('floor', { unordered: false })));
    else pc.onDataChannel((got) => resolve((dc = got)));
  });
  return {
    async describe() {
      await gathered;
      const d = pc.localDescription()!;
      return { sdp: d.sdp, kind: d.type };
    },
    async accept(sdp, kind) {
      pc.setRemoteDescription(sdp, kind as never);
    },
    async opened() {
      const c = await channel;
      if (!c.isOpen()) await new Promise<void>((resolve) => c.onOpen(resolve));
    },
    send: (data) => void dc!.sendMessageBinary(data),
    buffered: () => dc!.bufferedAmount(),
    onLow(mark, fn) {
      dc!.setBufferedAmountLowThreshold(mark);
      dc!.onBufferedAmountLow(fn);
    },
    onMessage(fn) {
      void channel.then((c) => c.onMessage((m) => fn(typeof m === 'string' ? m.length : m.byteLength)));
    },
    async close() {
      pc.close();
      ndc.cleanup();
    },
  };
}

async function weriftEnd(offerer: boolean): Promise<End> {
  const { RTCPeerConnection } = await import('werift');
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceUseIpv6: false,
    maxMessageSize: 1024 * 1024 + 64,
  });
  type Dc = import('werift').RTCDataChannel;
  let dc: Dc | undefined;
  const channel = new Promise<Dc>((resolve) => {
    if (offerer) resolve((dc = pc.createDataChannel('floor', { ordered: true })));
    else pc.onDataChannel.subscribe((got) => resolve((dc = got)));
  });
  // werift falls back to a public STUN server when given none (webrtc-connect.ts): loopback needs none.
  const noStun = () => pc.iceTransports.forEach((t) => (t.connection.stunServer = undefined));
  const gathered = async () => {
    while (pc.iceGatheringState !== 'complete')
      await new Promise<void>((resolve) => pc.iceGatheringStateChange.once(() => resolve()));
  };
  return {
    async describe() {
      if (offerer) {
        const offer = await pc.createOffer();
        noStun();
        await pc.setLocalDescription(offer);
      } else {
        noStun();
        await pc.setLocalDescription(await pc.createAnswer());
      }
      await gathered();
      return { sdp: pc.localDescription!.sdp, kind: pc.localDescription!.type };
    },
    async accept(sdp, kind) {
      await pc.setRemoteDescription({ sdp, type: kind as 'offer' | 'answer' });
    },
    async opened() {
      const c = await channel;
      if (c.readyState !== 'open')
        await new Promise<void>((resolve) => c.stateChanged.subscribe((s) => s === 'open' && resolve()));
    },
    send: (data) => dc!.send(Buffer.from(data.buffer, data.byteOffset, data.byteLength)),
    buffered: () => dc!.bufferedAmount,
    onLow(mark, fn) {
      dc!.bufferedAmountLowThreshold = mark;
      dc!.bufferedAmountLow.subscribe(fn);
    },
    onMessage(fn) {
      void channel.then((c) => c.onMessage.subscribe((m) => fn(typeof m === 'string' ? m.length : m.length)));
    },
    async close() {
      await pc.close();
    },
  };
}

const cpuSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};

async function child(role: 'send' | 'receive', engine: FloorEngine, bytes: number): Promise<void> {
  const post = (m: FromChild) => process.send!(m);
  const messages: ToChild[] = [];
  let wake = () => {};
  process.on('message', (m: ToChild) => (messages.push(m), wake()));
  const next = async (): Promise<ToChild> => {
    while (messages.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return messages.shift()!;
  };
  const end = engine === 'libdatachannel' ? await ndcEnd(role === 'send') : await weriftEnd(role === 'send');
  if (role === 'send') {
    post({ type: 'description', ...(await end.describe()) });
    const answer = await next();
    if (answer.type !== 'description') throw new Error('expected the answer');
    await end.accept(answer.sdp, answer.kind);
  } else {
    const offer = await next();
    if (offer.type !== 'description') throw new Error('expected the offer');
    await end.accept(offer.sdp, offer.kind);
    post({ type: 'description', ...(await end.describe()) });
  }
  if (role === 'receive') {
    let got = 0;
    let start: NodeJS.CpuUsage | undefined;
    await new Promise<void>((resolve) => {
      end.onMessage((n) => {
        start ??= process.cpuUsage();
        got += n;
        if (got >= bytes) resolve();
      });
    });
    post({ type: 'received', bytes: got, cpuSeconds: cpuSince(start!), peakRss: ownPeakRssBytes() });
  } else {
    await end.opened();
    post({ type: 'open' });
    const start = process.cpuUsage();
    const { high, low } = MARKS[engine];
    let drained = () => {};
    end.onLow(low, () => drained());
    const message = new Uint8Array(MESSAGE_BYTES).fill(0x5a);
    for (let sent = 0; sent < bytes; sent += message.length) {
      end.send(message);
      if (end.buffered() > high) await new Promise<void>((resolve) => (drained = resolve));
    }
    const stop = await next();
    if (stop.type !== 'stop') throw new Error('expected stop');
    post({ type: 'sent', cpuSeconds: cpuSince(start), peakRss: ownPeakRssBytes() });
  }
  await end.close();
  process.disconnect();
}

/** Moves `bytes` (rounded up to whole messages) between two child processes over `engine`'s data channel. */
export async function measureEngineFloor(engine: FloorEngine, bytes: number): Promise<FloorFigures> {
  // This file's own build (not the bundle it may be part of: its main would start the whole bench in each child).
  const self = fileURLToPath(new URL('./engine-floor.js', import.meta.url));
  const tx = fork(self, ['send', engine, String(bytes)]);
  const rx = fork(self, ['receive', engine, String(bytes)]);
  const timer = setTimeout(() => (tx.kill(), rx.kill()), DEADLINE_MS);
  try {
    const exited = (name: string) => (code: number | null) => failed(new Error(`engine floor ${name} exited ${code}`));
    let failed: (err: Error) => void = () => {};
    const failure = new Promise<never>((_, reject) => (failed = reject));
    tx.once('exit', exited('sender'));
    rx.once('exit', exited('receiver'));
    let opened = 0;
    const sent = new Promise<{ cpuSeconds: number; peakRss: number }>((resolve) =>
      tx.on('message', (m: FromChild) => {
        if (m.type === 'description') rx.send(m);
        if (m.type === 'open') opened = performance.now();
        if (m.type === 'sent') resolve(m);
      }),
    );
    const received = new Promise<{ bytes: number; cpuSeconds: number; peakRss: number }>((resolve) =>
      rx.on('message', (m: FromChild) => {
        if (m.type === 'description') tx.send(m);
        if (m.type === 'received') resolve(m);
      }),
    );
    const got = await Promise.race([received, failure]);
    const seconds = (performance.now() - opened) / 1000;
    tx.send({ type: 'stop' } satisfies ToChild);
    const gave = await Promise.race([sent, failure]);
    tx.removeAllListeners('exit');
    rx.removeAllListeners('exit');
    return {
      engine,
      bytes: got.bytes,
      cpuPerGiB: (got.cpuSeconds + gave.cpuSeconds) / (got.bytes / 1024 ** 3),
      mbps: mb(got.bytes) / seconds,
      peakRss: Math.max(got.peakRss, gave.peakRss),
    };
  } finally {
    clearTimeout(timer);
    tx.kill();
    rx.kill();
  }
}

const [role, engineArg, bytesArg] = process.argv.slice(2);
if (startedAs('engine-floor.js') && (role === 'send' || role === 'receive')) {
  await child(role, engineArg as FloorEngine, Number(bytesArg));
} else if (startedAs('engine-floor.js')) {
  const engine = (role ?? 'libdatachannel') as FloorEngine;
  const megabytes = Number(engineArg ?? 200);
  console.log(JSON.stringify(await measureEngineFloor(engine, megabytes * 1e6)));
}
