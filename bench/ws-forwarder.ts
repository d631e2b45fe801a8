/**
 * The reference for the relay's CPU per byte (issue 18): a bare `ws` forwarder, the least any WebSocket relay does.
 * It pairs the first two sockets and forwards every message between them, pausing the source while the target's
 * queue holds more than HIGH_WATER (resumed by that send's callback), so its memory stays bounded as the relay's
 * does. No rooms, no protocol, no checks. It runs as its own process under the V8 flags bin/portunus sets, and is
 * driven like the relay path drives the relay: data frames of a real frame's size (1 MiB + 29 bytes), at most
 * 4 MiB queued by the sender, a 37-byte ack back every 2 MiB, the receiver pausing past 4 MiB unread. Its CPU is
 * counted from the first frame to the last, as the relay's is in transfer.ts (offer to the end).
 *
 * `node dist/bench/ws-forwarder.js [bytes]` prints one JSON line.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
import { startedAs } from './entry.js';

const FRAME = 1024 * 1024 + 29;
const ACK = 37;
const ACK_EVERY = 2 * 1024 * 1024;
const CLIENT_HIGH_WATER = 4 * 1024 * 1024;
const HIGH_WATER = 1024 * 1024;
const V8_FLAGS = ['--no-concurrent-marking', '--no-parallel-scavenge', '--no-incremental-marking'];
const GiB = 1024 * 1024 * 1024;

export interface ForwarderFigures {
  bytes: number;
  /** The forwarder process's user + system CPU seconds from the first frame to the last. */
  cpuSeconds: number;
  cpuPerGiB: number;
}

/** The forwarder's own process: listens, reports its port, then forwards and reports its CPU at the end. */
function forwarder(): void {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 2 * FRAME });
  const peers: WebSocket[] = [];
  let start: NodeJS.CpuUsage | undefined;
  wss.on('listening', () => process.send!({ port: (wss.address() as { port: number }).port }));
  wss.on('connection', (ws) => {
    peers.push(ws);
    ws.on('message', (data: Buffer, isBinary) => {
      start ??= process.cpuUsage();
      const from = peers.indexOf(ws);
      const to = peers[1 - from];
      if (to === undefined) return;
      if (to.bufferedAmount + data.length > HIGH_WATER && !ws.isPaused) {
        ws.pause();
        to.send(data, { binary: isBinary }, () => ws.resume());
      } else to.send(data, { binary: isBinary });
    });
    ws.on('close', () => {
      const used = process.cpuUsage(start);
      process.send!({ cpuSeconds: (used.user + used.system) / 1e6 }, undefined, undefined, () => process.exit(0));
    });
  });
}

/** Sender and receiver as the CLI's relay client behaves on the relay path; resolves when `bytes` arrived. */
async function drive(port: number, bytes: number): Promise<void> {
  const open = async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, {
      perMessageDeflate: false,
      maxPayload: 2 * FRAME,
      generateMask: (mask: Buffer) => void mask.fill(0),
    });
    await new Promise((resolve) => ws.once('open', resolve));
    return ws;
  };
  const receiver = await open();
  const sender = await open();
  const frame = Buffer.alloc(FRAME, 7);
  const ack = Buffer.alloc(ACK, 1);
  let received = 0;
  let unacked = 0;
  const arrived = new Promise<void>((resolve) => {
    receiver.on('message', (data: Buffer) => {
      received += data.length;
      unacked += data.length;
      if (unacked >= ACK_EVERY || received >= bytes) {
        unacked = 0;
        receiver.send(ack, { binary: true });
      }
      if (received >= bytes) resolve();
    });
  });
  sender.on('message', () => undefined);
  for (let sent = 0; sent < bytes;) {
    const data = bytes - sent >= FRAME ? frame : frame.subarray(0, bytes - sent);
    sent += data.length;
    if (sender.bufferedAmount + data.length <= CLIENT_HIGH_WATER) sender.send(data, { binary: true });
    else await new Promise((resolve) => sender.send(data, { binary: true }, resolve));
  }
  await arrived;
  sender.close();
  receiver.close();
}

/** `bytes` through a bare ws forwarder process: its CPU seconds and CPU seconds per GiB. */
export async function measureWsForwarder(bytes: number): Promise<ForwarderFigures> {
  // This file's own build (ceiling.ts says why not import.meta.url).
  const self = fileURLToPath(new URL('./ws-forwarder.js', import.meta.url));
  const child = fork(self, ['forward'], { execArgv: V8_FLAGS });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`ws forwarder exited ${code}`)));
    });
    const cpu = new Promise<number>((resolve) =>
      child.on('message', (m: { cpuSeconds?: number }) => m.cpuSeconds !== undefined && resolve(m.cpuSeconds)),
    );
    await drive(port, bytes);
    const cpuSeconds = await cpu;
    return { bytes, cpuSeconds, cpuPerGiB: cpuSeconds / (bytes / GiB) };
  } finally {
    child.kill();
  }
}

if (startedAs('ws-forwarder.js') && process.argv[2] === 'forward') forwarder();
else if (startedAs('ws-forwarder.js')) {
  console.log(JSON.stringify(await measureWsForwarder(Number(process.argv[2] ?? GiB))));
}
