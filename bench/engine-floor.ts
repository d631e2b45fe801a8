/**
 * What a WebRTC engine costs on its own (issue #18's WebRTC targets): two processes, one peer connection each,
 * joined on loopback with complete descriptions through the parent, one ordered reliable data channel, and the
 * sender pushing messages of the size the CLI sends (a sealed 256 KiB chunk) with the CLI's queue marks for that
 * engine. No file, no encryption of our own, no hashing, no protocol: only the engine's DTLS, SCTP and UDP. The CPU
 * it takes per GiB, added to the essential work's (ceiling.ts: file, AES-256-GCM, SHA-256), is the least a WebRTC
 * path can cost; set against the tcp path's own CPU it is the floor of the "× tcp" ratio.
 *
 * With `work` (a payload file and an output path) each end also does the essential work around the engine: the
 * sender reads the file, hashes it (SHA-256) and seals each chunk (AES-256-GCM) before sending it, the receiver
 * opens each message, hashes it, writes it to the output and syncs that at the end. Its peak RSS is the least a
 * WebRTC path's process can peak at: the engine's memory and the work's buffers in one process at once (the bare
 * engine and ceiling.ts, each alone, show only the larger of the two).
 *
 * `node dist/bench/engine-floor.js [werift|libdatachannel] [MB] [payload out]` prints one JSON line; the roles run
 * as children.
 */
import { fork } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { KEY, nonce, TAG } from './ceiling.js';
import { mb } from './processes.js';
import { ownPeakRssBytes } from './own-peak.js';
import { startedAs } from './entry.js';

export type FloorEngine = 'werift' | 'libdatachannel';

/** A 256 KiB chunk sealed as one frame (its header and tag): what the CLI puts in one message. */
const MESSAGE_BYTES = 256 * 1024 + 28;
/** With the work: the chunk each message seals (ciphertext ‖ tag, sealed as ceiling.ts seals). */
const CHUNK_BYTES = 256 * 1024;

/** The essential work's files, for a floor with the work (the payload read, the output written). */
export interface FloorWork {
  payload: string;
  out: string;
}
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
  /** `data`: the message's bytes (a binary message). */
  onMessage(fn: (bytes: number, data?: Uint8Array) => void): void;
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
      void channel.then((c) =>
        c.onMessage((m) => {
          if (typeof m === 'string') return fn(m.length);
          const data = m instanceof Uint8Array ? m : new Uint8Array(m);
          fn(data.byteLength, data);
        }),
      );
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
      void channel.then((c) => c.onMessage.subscribe((m) => (typeof m === 'string' ? fn(m.length) : fn(m.length, m))));
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

/** The sender's work for message `n`: the file's next chunk, hashed and sealed as ciphertext ‖ tag. */
async function sealedChunk(file: FileHandle, hash: ReturnType<typeof createHash>, n: number): Promise<Uint8Array> {
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  const { bytesRead } = await file.read(chunk, 0, CHUNK_BYTES, n * CHUNK_BYTES);
  if (bytesRead === 0) throw new Error('the payload is shorter than the bytes to move');
  const plain = chunk.subarray(0, bytesRead);
  hash.update(plain);
  const cipher = createCipheriv('aes-256-gcm', KEY, nonce(n));
  const body = cipher.update(plain);
  cipher.final();
  return Buffer.concat([body, cipher.getAuthTag()]);
}

async function child(role: 'send' | 'receive', engine: FloorEngine, bytes: number, work?: FloorWork): Promise<void> {
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
    const out = work === undefined ? undefined : await open(work.out, 'w');
    const hash = createHash('sha256');
    let written = Promise.resolve();
    let n = 0;
    let at = 0;
    await new Promise<void>((resolve) => {
      end.onMessage((length, data) => {
        start ??= process.cpuUsage();
        got += length;
        if (out !== undefined && data !== undefined) {
          // The work: open the message, hash it, write it where it goes (writes in order, one at a time). No
          // backpressure: the engines move 30-100 MB/s, far less than the page cache takes, so the queue stays short.
          const decipher = createDecipheriv('aes-256-gcm', KEY, nonce(n++));
          decipher.setAuthTag(data.subarray(data.length - TAG));
          const plain = decipher.update(data.subarray(0, data.length - TAG));
          decipher.final();
          hash.update(plain);
          const position = at;
          at += plain.length;
          written = written.then(() => out.write(plain, 0, plain.length, position).then(() => undefined));
        }
        if (got >= bytes) resolve();
      });
    });
    await written;
    await out?.sync();
    await out?.close();
    hash.digest();
    post({ type: 'received', bytes: got, cpuSeconds: cpuSince(start!), peakRss: ownPeakRssBytes() });
  } else {
    await end.opened();
    post({ type: 'open' });
    const start = process.cpuUsage();
    const { high, low } = MARKS[engine];
    let drained = () => {};
    end.onLow(low, () => drained());
    const message = new Uint8Array(MESSAGE_BYTES).fill(0x5a);
    const file = work === undefined ? undefined : await open(work.payload);
    const hash = createHash('sha256');
    for (let sent = 0, n = 0; sent < bytes; n++) {
      const next = file === undefined ? message : await sealedChunk(file, hash, n);
      end.send(next);
      sent += next.length;
      if (end.buffered() > high) await new Promise<void>((resolve) => (drained = resolve));
    }
    await file?.close();
    const stop = await next();
    if (stop.type !== 'stop') throw new Error('expected stop');
    post({ type: 'sent', cpuSeconds: cpuSince(start), peakRss: ownPeakRssBytes() });
  }
  await end.close();
  process.disconnect();
}

/** Moves `bytes` (rounded up to whole messages) between two child processes over `engine`'s data channel. */
export async function measureEngineFloor(engine: FloorEngine, bytes: number, work?: FloorWork): Promise<FloorFigures> {
  // This file's own build (not the bundle it may be part of: its main would start the whole bench in each child).
  const self = fileURLToPath(new URL('./engine-floor.js', import.meta.url));
  const files = work === undefined ? [] : [work.payload, work.out];
  const tx = fork(self, ['send', engine, String(bytes), ...files]);
  const rx = fork(self, ['receive', engine, String(bytes), ...files]);
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

const [role, engineArg, bytesArg, payloadArg, outArg] = process.argv.slice(2);
const workArg = (payload?: string, out?: string) =>
  payload !== undefined && out !== undefined ? { payload, out } : undefined;
if (startedAs('engine-floor.js') && (role === 'send' || role === 'receive')) {
  await child(role, engineArg as FloorEngine, Number(bytesArg), workArg(payloadArg, outArg));
} else if (startedAs('engine-floor.js')) {
  const engine = (role ?? 'libdatachannel') as FloorEngine;
  const megabytes = Number(engineArg ?? 200);
  console.log(JSON.stringify(await measureEngineFloor(engine, megabytes * 1e6, workArg(bytesArg, payloadArg))));
}
