/**
 * What the TCP path could reach at most on this machine: two processes doing only the work no design of Portunus
 * can skip, with no protocol at all. The sender reads the file (one chunk ahead), hashes it, seals 1 MiB frames
 * with AES-256-GCM and writes them to a TCP socket; the receiver opens them, hashes them, writes the file
 * (positional writes, ≤ 4 MiB in flight) and syncs it. Run with and without the two SHA-256s. Both processes get
 * the V8 flags bin/portunus sets. The plain pipe (pipe.ts) does none of this work, so the gap between it and this
 * is the cost of the work itself, and the gap between this and `portunus --transport tcp` is Portunus's own.
 *
 * `node dist/bench/ceiling.js <payload> <out> [nohash]` prints one JSON line; the roles run as child processes.
 */
import { fork } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { mb } from './processes.js';
import { ownPeakRssBytes } from './own-peak.js';
import { startedAs } from './entry.js';

const FRAME = 1024 * 1024;
/** The essential work's AES-256-GCM: its tag, key and per-frame nonce (engine-floor.ts seals the same way). */
export const TAG = 16;
const IN_FLIGHT = 4 * FRAME;
export const KEY = Buffer.alloc(32, 1);
const V8_FLAGS = ['--no-concurrent-marking', '--no-parallel-scavenge', '--no-incremental-marking'];

export const nonce = (n: number): Buffer => {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(n, 8);
  return iv;
};

async function sender(port: number, payload: string, hash: Hash | undefined): Promise<void> {
  const file = await open(payload);
  const size = (await file.stat()).size;
  const socket = connect({ port, host: '127.0.0.1' });
  await new Promise((resolve) => socket.once('connect', resolve));
  const read = (at: number) => {
    const chunk = Buffer.allocUnsafe(Math.min(FRAME, size - at));
    return file.read(chunk, 0, chunk.length, at).then(() => chunk);
  };
  let ahead = read(0);
  for (let at = 0, n = 0; at < size; n++) {
    const chunk = await ahead;
    at += chunk.length;
    if (at < size) ahead = read(at);
    hash?.update(chunk);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(chunk.length);
    const cipher = createCipheriv('aes-256-gcm', KEY, nonce(n));
    socket.write(header);
    socket.write(cipher.update(chunk));
    cipher.final();
    if (!socket.write(cipher.getAuthTag())) await new Promise((resolve) => socket.once('drain', resolve));
  }
  await new Promise<void>((resolve) => socket.end(resolve));
  await file.close();
}

async function receiver(out: string, hash: Hash | undefined, report: (bytes: number) => void): Promise<number> {
  const file = await open(out, 'w');
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  report((server.address() as { port: number }).port);
  const socket = await new Promise<Socket>((resolve) => server.once('connection', resolve));
  const frame = Buffer.allocUnsafe(4 + FRAME + TAG);
  let fill = 0;
  let need = 4;
  let position = 0;
  let inFlight = 0;
  let n = 0;
  let writing: Promise<unknown> = Promise.resolve();
  socket.on('data', (data: Buffer) => {
    for (let offset = 0; offset < data.length;) {
      const take = Math.min(need - fill, data.length - offset);
      data.copy(frame, fill, offset, offset + take);
      fill += take;
      offset += take;
      if (fill < need) break;
      if (need === 4) {
        need = 4 + frame.readUInt32BE(0) + TAG;
        continue;
      }
      const length = need - 4 - TAG;
      const decipher = createDecipheriv('aes-256-gcm', KEY, nonce(n++));
      decipher.setAuthTag(frame.subarray(4 + length, need));
      const plain = decipher.update(frame.subarray(4, 4 + length));
      decipher.final();
      hash?.update(plain);
      const at = position;
      position += length;
      inFlight += length;
      if (inFlight > IN_FLIGHT) socket.pause();
      writing = writing
        .then(() => file.write(plain, 0, length, at))
        .then(() => {
          inFlight -= length;
          if (inFlight <= IN_FLIGHT) socket.resume();
        });
      fill = 0;
      need = 4;
    }
  });
  await new Promise((resolve) => socket.once('end', resolve));
  await writing;
  await file.sync();
  await file.close();
  server.close();
  return position;
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

export interface CeilingFigures {
  /** From the connection to the synced file. */
  mbps: number;
  /** Both processes' CPU seconds for the work (their start-up left out), to set beside the CLI's own. */
  cpuSeconds: number;
  /** The larger of the two processes' peak RSS: what Node itself needs to move the bytes this way. */
  peakRss: number;
}

/** `payload` → `out` through the two processes. */
export async function measureCeiling(payload: string, out: string, withHash: boolean): Promise<CeilingFigures> {
  // This file's own build, not import.meta.url: bundled into run.js or paths.js, that is the bundle, whose main
  // would start the whole bench again in every child (and each child's children).
  const self = fileURLToPath(new URL('./ceiling.js', import.meta.url));
  const hashArg = withHash ? 'hash' : 'nohash';
  const rx = fork(self, ['receive', out, hashArg], { execArgv: V8_FLAGS });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      rx.once('message', (m: { port: number }) => resolve(m.port));
      rx.once('exit', (code) => reject(new Error(`ceiling receiver exited ${code}`)));
    });
    const start = performance.now();
    const tx = fork(self, ['send', payload, hashArg, String(port)], { execArgv: V8_FLAGS });
    type Usage = { cpuSeconds: number; peakRss: number };
    const txUsage = new Promise<Usage>((resolve, reject) => {
      tx.on('message', (m: Partial<Usage>) => m.cpuSeconds !== undefined && resolve(m as Usage));
      tx.once('exit', (code) => reject(new Error(`ceiling sender exited ${code}`)));
    });
    const done = await new Promise<Usage & { bytes: number }>((resolve, reject) => {
      rx.on('message', (m: Partial<Usage> & { bytes?: number }) => m.bytes !== undefined && resolve(m as never));
      rx.once('exit', (code) => reject(new Error(`ceiling receiver exited ${code}`)));
    });
    const seconds = (performance.now() - start) / 1000;
    const sent = await txUsage;
    return {
      mbps: mb(done.bytes) / seconds,
      cpuSeconds: done.cpuSeconds + sent.cpuSeconds,
      peakRss: Math.max(done.peakRss, sent.peakRss),
    };
  } finally {
    rx.kill();
  }
}

const [role, path, hashArg, port] = process.argv.slice(2);
if (startedAs('ceiling.js') && (role === 'send' || role === 'receive')) {
  const hash = hashArg === 'hash' ? createHash('sha256') : undefined;
  if (role === 'send') {
    const start = process.cpuUsage();
    await sender(Number(port), path!, hash);
    hash?.digest();
    process.send!({ cpuSeconds: cpuSince(start), peakRss: ownPeakRssBytes() }, undefined, undefined, () =>
      process.exit(0),
    );
  } else {
    let start = process.cpuUsage();
    const bytes = await receiver(path!, hash, (p) => {
      process.send!({ port: p });
      start = process.cpuUsage();
    });
    hash?.digest();
    const done = { bytes, cpuSeconds: cpuSince(start), peakRss: ownPeakRssBytes() };
    process.send!(done, undefined, undefined, () => process.exit(0));
  }
} else if (startedAs('ceiling.js')) {
  const withHash = process.argv[4] !== 'nohash';
  console.log(JSON.stringify({ withHash, ...(await measureCeiling(process.argv[2]!, process.argv[3]!, withHash)) }));
}
