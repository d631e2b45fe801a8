/**
 * Transfer benchmark: one file through a local relay, three real processes (relay, send, receive) as a user runs
 * them. Prints MB/s and each process's peak RSS; targets from issue 4: ≥ 250 MB/s, RSS ≤ 150 MB each.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRandomFile, sha256File } from './payload.js';
import { fmt, mb, spawnPortunus } from './processes.js';

export interface TransferFigures {
  bytes: number;
  seconds: number;
  mbps: number;
  sha256Match: boolean;
  peakRss: { sender: number; receiver: number; relay: number };
}

export async function runTransferBench(opts: { bytes: number; transport?: string }): Promise<TransferFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'portunus-bench-'));
  try {
    const src = join(dir, 'payload.bin');
    await makeRandomFile(src, opts.bytes);
    const relay = spawnPortunus(['relay', '--host', '127.0.0.1', '--port', '0', '--json']);
    try {
      const url = String((await relay.waitEvent('listening')).url);
      const common = ['--json', '--relay', url, ...(opts.transport ? ['--transport', opts.transport] : [])];
      const sender = spawnPortunus(['send', ...common, '--no-qr', src]);
      const code = String((await sender.waitEvent('code')).code);
      const out = join(dir, 'received.bin');
      const receiver = spawnPortunus(['receive', ...common, '--yes', '-o', out, code]);
      const [sc, rc] = await Promise.all([sender.exit, receiver.exit]);
      if (sc !== 0 || rc !== 0) throw new Error(`transfer failed: sender ${sc} receiver ${rc}: ${receiver.stderr()}`);
      const done = receiver.events.find((e) => e.event === 'done')!;
      const seconds = Number(done.seconds);
      return {
        bytes: opts.bytes,
        seconds,
        mbps: mb(opts.bytes) / seconds,
        sha256Match: done.sha256 === (await sha256File(src)) && (await sha256File(out)) === done.sha256,
        peakRss: { sender: sender.peakRssBytes(), receiver: receiver.peakRssBytes(), relay: relay.peakRssBytes() },
      };
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exit;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatTransfer(label: string, f: TransferFigures): string[] {
  return [
    `${label}: ${fmt(mb(f.bytes), 0)} MB in ${fmt(f.seconds, 2)} s = ${fmt(f.mbps)} MB/s (target ≥ 250), SHA-256 ${f.sha256Match ? 'matches' : 'MISMATCH'}`,
    `  peak RSS: sender ${fmt(mb(f.peakRss.sender))} MB, receiver ${fmt(mb(f.peakRss.receiver))} MB, relay ${fmt(mb(f.peakRss.relay))} MB (target ≤ 150 each)`,
  ];
}
