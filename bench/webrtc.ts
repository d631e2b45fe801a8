/**
 * The direct path's benchmark: one file from `portunus send` to `portunus receive --transport webrtc` on loopback
 * through a local relay (which carries only the handshake and the signals). Reports the connect time (from the
 * receiver accepting to its data channel being open and bound, werift's lazy import included) and the MB/s of the
 * data phase alone. Issue 7 §2(a) targets ≥ 17 MB/s from werift patched at install (patches/README.md), CPU-bound.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRandomFile, sha256File } from './payload.js';
import { fmt, mb, spawnPortunus } from './processes.js';
import { startedAs } from './entry.js';

export interface WebRtcFigures {
  bytes: number;
  /** Receiver: offer accepted → `connected` (signalling, ICE, DTLS, SCTP, binding check). */
  connectSeconds: number;
  /** Receiver: `connected` → `done` (every frame through the channel, then the receipts). */
  dataSeconds: number;
  mbps: number;
  transport: string;
  engine: WebRtcEngine;
  sha256Match: boolean;
  peakRss: { sender: number; receiver: number };
  /** CPU seconds (user + system) each process spent in the data phase: steadier than MB/s on a shared machine. */
  dataCpuSeconds: { sender: number; receiver: number };
}

export type WebRtcEngine = 'werift' | 'libdatachannel';

export async function runWebRtcBench(opts: { bytes: number; engine: WebRtcEngine }): Promise<WebRtcFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'portunus-bench-webrtc-'));
  const relay = spawnPortunus(['relay', '--host', '127.0.0.1', '--port', '0', '--json']);
  try {
    const src = join(dir, 'payload.bin');
    const out = join(dir, 'received.bin');
    await makeRandomFile(src, opts.bytes);
    const url = String((await relay.waitEvent('listening')).url);
    const common = ['--json', '--relay', url, '--transport', 'webrtc'];
    const env = { env: { PORTUNUS_WEBRTC_ENGINE: opts.engine } };
    const sender = spawnPortunus(['send', ...common, '--no-qr', src], env);
    const code = String((await sender.waitEvent('code')).code);
    const receiver = spawnPortunus(['receive', ...common, '--yes', '-o', out, code], env);
    await receiver.waitEvent('offer');
    const accepted = performance.now();
    const connected = await receiver.waitEvent('connected');
    const open = performance.now();
    const cpuAtOpen = { sender: sender.cpuSeconds(), receiver: receiver.cpuSeconds() };
    const done = await receiver.waitEvent('done', 600_000);
    const finished = performance.now();
    const dataCpuSeconds = {
      sender: sender.cpuSeconds() - cpuAtOpen.sender,
      receiver: receiver.cpuSeconds() - cpuAtOpen.receiver,
    };
    const [sc, rc] = await Promise.all([sender.exit, receiver.exit]);
    if (sc !== 0 || rc !== 0) throw new Error(`transfer failed: sender ${sc} receiver ${rc}: ${receiver.stderr()}`);
    return {
      bytes: opts.bytes,
      connectSeconds: (open - accepted) / 1000,
      dataSeconds: (finished - open) / 1000,
      mbps: mb(opts.bytes) / ((finished - open) / 1000),
      transport: String(connected.transport),
      engine: opts.engine,
      sha256Match: done.sha256 === (await sha256File(src)) && (await sha256File(out)) === done.sha256,
      peakRss: { sender: sender.peakRssBytes(), receiver: receiver.peakRssBytes() },
      dataCpuSeconds,
    };
  } finally {
    relay.child.kill('SIGTERM');
    await relay.exit;
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatWebRtc(f: WebRtcFigures): string[] {
  return [
    `direct path (${f.transport}, ${f.engine}): ${fmt(mb(f.bytes), 0)} MB in ${fmt(f.dataSeconds, 2)} s = ${fmt(f.mbps)} MB/s ` +
      `(target ≥ ${f.engine === 'werift' ? '17, patched werift' : '30, native engine'}), ` +
      `SHA-256 ${f.sha256Match ? 'matches' : 'MISMATCH'}`,
    `  connect: ${fmt(f.connectSeconds * 1000, 0)} ms from accepting to an open, bound channel (the engine's import included)`,
    `  peak RSS: sender ${fmt(mb(f.peakRss.sender))} MB, receiver ${fmt(mb(f.peakRss.receiver))} MB`,
    `  data-phase CPU: sender ${fmt(f.dataCpuSeconds.sender, 2)} s, receiver ${fmt(f.dataCpuSeconds.receiver, 2)} s ` +
      `(${fmt(mb(f.bytes) / (f.dataCpuSeconds.sender + f.dataCpuSeconds.receiver))} MB per CPU-second of both)`,
  ];
}

// Run alone (`npm run build && node dist/bench/webrtc.js [--quick]`) to compare werift builds without the rest of `npm run bench`.
if (startedAs('webrtc.js')) {
  const quick = process.argv.includes('--quick');
  const engine: WebRtcEngine = process.argv.includes('libdatachannel') ? 'libdatachannel' : 'werift';
  runWebRtcBench({ bytes: quick ? 20 * 1000 * 1000 : 200 * 1000 * 1000, engine }).then(
    (f) => console.log(formatWebRtc(f).join('\n')),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
