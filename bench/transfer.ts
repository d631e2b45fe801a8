/**
 * One file through real processes as a user runs them: `portunus relay` on 127.0.0.1, `portunus send` and
 * `portunus receive --yes` with a chosen --transport. Reports MB/s (the receiver's own `done` seconds: from the
 * pairing to the verified, committed file), time to first byte (receiver: offer accepted → first data written),
 * the path that carried the data, and each process's peak RSS and CPU seconds. It passes only flags that the
 * 0.1.0 release (8ecf126) has too (--json, --relay, --transport, --yes, -o), so it also measures older builds (compare.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRandomFile, sha256File } from './payload.js';
import { mb, spawnPortunus } from './processes.js';

export interface PerProcess {
  sender: number;
  receiver: number;
  relay: number;
}

export interface TransferFigures {
  bytes: number;
  seconds: number;
  mbps: number;
  /** Receiver: `offer` event → first `progress` event with data (both as seen by the bench). */
  firstByteSeconds: number;
  /** The path the receiver reported in `connected` (and the last one, if it switched). */
  transport: string;
  sha256Match: boolean;
  peakRss: PerProcess;
  cpuSeconds: PerProcess;
  /** CPU seconds while the data moved (offer accepted → both ends exited): start-up and pairing left out. */
  dataCpuSeconds: PerProcess;
}

export interface TransferBenchOptions {
  bytes: number;
  transport?: string;
  /** Extra environment for send and receive (PORTUNUS_WEBRTC_ENGINE, say). */
  env?: NodeJS.ProcessEnv;
  /** A payload made earlier (the same bytes for every path); made and removed here when absent. */
  payload?: { path: string; sha256: string };
  /** The build's executable, for relay, send and receive alike (default: this checkout's bin/portunus). */
  bin?: string;
}

export async function runTransferBench(opts: TransferBenchOptions): Promise<TransferFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'portunus-bench-'));
  try {
    const src = opts.payload?.path ?? join(dir, 'payload.bin');
    const expected = opts.payload?.sha256 ?? (await makeRandomFile(src, opts.bytes));
    const bin = opts.bin === undefined ? {} : { bin: opts.bin };
    const relay = spawnPortunus(['relay', '--host', '127.0.0.1', '--port', '0', '--json'], bin);
    try {
      const url = String((await relay.waitEvent('listening')).url);
      const common = ['--json', '--relay', url, ...(opts.transport ? ['--transport', opts.transport] : [])];
      const env = { ...bin, ...(opts.env === undefined ? {} : { env: opts.env }) };
      // No --no-qr: stderr is a pipe, so no build prints a QR code, and an older build may lack the flag.
      const sender = spawnPortunus(['send', ...common, src], env);
      const code = String((await sender.waitEvent('code')).code);
      const out = join(dir, 'received.bin');
      const receiver = spawnPortunus(['receive', ...common, '--yes', '-o', out, code], env);
      await receiver.waitEvent('offer');
      const accepted = performance.now();
      const cpuAtOffer = { sender: sender.cpuSeconds(), receiver: receiver.cpuSeconds(), relay: relay.cpuSeconds() };
      const firstData = receiver
        .waitFor((e) => e.event === 'progress' && Number(e.bytes) > 0, 120_000)
        .then(() => performance.now());
      firstData.catch(() => undefined);
      const [sc, rc] = await Promise.all([sender.exit, receiver.exit]);
      const relayCpuAtEnd = relay.cpuSeconds();
      if (sc !== 0 || rc !== 0) throw new Error(`transfer failed: sender ${sc} receiver ${rc}: ${receiver.stderr()}`);
      const done = receiver.events.find((e) => e.event === 'done')!;
      const seconds = Number(done.seconds);
      const firstByteSeconds = opts.bytes > 0 ? ((await firstData) - accepted) / 1000 : 0;
      return {
        bytes: opts.bytes,
        seconds,
        mbps: mb(opts.bytes) / seconds,
        firstByteSeconds,
        transport: String(done.transport ?? 'none'),
        sha256Match: done.sha256 === expected && (await sha256File(out)) === expected,
        peakRss: { sender: sender.peakRssBytes(), receiver: receiver.peakRssBytes(), relay: relay.peakRssBytes() },
        cpuSeconds: { sender: sender.cpuSeconds(), receiver: receiver.cpuSeconds(), relay: relay.cpuSeconds() },
        dataCpuSeconds: {
          sender: sender.cpuSeconds() - cpuAtOffer.sender,
          receiver: receiver.cpuSeconds() - cpuAtOffer.receiver,
          relay: relayCpuAtEnd - cpuAtOffer.relay,
        },
      };
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exit;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
