/**
 * werift's SCTP between two peer connections in this process on loopback, as patched at install (patches/README.md):
 * how many SACKs the receiver sends per DATA packet (sack-cadence: one per two packets when they come back to back,
 * 1.0 as published), and how many retransmission-timer (T3) expiries isolated losses cost (retransmit-scan: fast
 * retransmit repairs each, so none). Both depend on how fast the two ends run, so they are figures printed here, not
 * test assertions: werift-patches.test.ts checks the behaviour itself. Run: `node dist/bench/werift-sctp.js`.
 */
import { loadWerift } from '../cli/src/transport/werift.js';
import { withTimeout } from '@portunus/client';
import { fmt } from './processes.js';
import { connectWeriftPair, countExpiries, countSacks, dropFirstSends, receiveBytes, sctpOf } from './werift-pair.js';
import { startedAs } from './entry.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const DELIVERY_MS = 120_000;
/** A DATA packet carries at most this much user data (werift's USERDATA_MAX_LENGTH). */
const PACKET_BYTES = 1200;

export interface WeriftSctpFigures {
  bytes: number;
  dataPackets: number;
  sacks: number;
  /** Isolated losses: one DATA packet in `lossEvery` lost on its first transmission. */
  lossEvery: number;
  lost: number;
  expiries: number;
}

/** `bytes` through the channel in 16 KiB messages, all queued at once, counting the receiver's SACKs. */
async function sackCadence(bytes: number): Promise<{ dataPackets: number; sacks: number }> {
  const pair = await connectWeriftPair(await loadWerift());
  try {
    const counts = countSacks(sctpOf(pair.answerer));
    const arrived = receiveBytes(pair.receiving, bytes);
    for (let sent = 0; sent < bytes; sent += 16 * KiB) pair.sending.send(Buffer.alloc(16 * KiB, 7));
    await withTimeout(arrived, DELIVERY_MS, () => new Error(`werift-sctp: ${bytes} bytes did not arrive`));
    return { dataPackets: counts.data(), sacks: counts.sacks() };
  } finally {
    await pair.close();
  }
}

/** 64 messages of ~8 KiB with one first transmission in `every` lost (never the last 50 packets, so each loss is reported). */
async function isolatedLosses(every: number): Promise<{ lost: number; expiries: number }> {
  const pair = await connectWeriftPair(await loadWerift());
  try {
    const sizes = Array.from({ length: 64 }, (_, i) => 8 * KiB + i);
    const total = sizes.reduce((a, b) => a + b, 0);
    const sender = sctpOf(pair.offerer);
    const expiries = countExpiries(sender, { act: true });
    let lost = 0;
    dropFirstSends(sender, (n) => {
      const drop = n % every === 0 && n < total / PACKET_BYTES - 50;
      if (drop) lost++;
      return drop;
    });
    const arrived = receiveBytes(pair.receiving, total);
    sizes.forEach((size, i) => pair.sending.send(Buffer.alloc(size, i)));
    await withTimeout(
      arrived,
      DELIVERY_MS,
      () => new Error('werift-sctp: the messages did not arrive despite the losses'),
    );
    return { lost, expiries: expiries() };
  } finally {
    await pair.close();
  }
}

export async function runWeriftSctpBench(opts: { bytes: number }): Promise<WeriftSctpFigures> {
  const cadence = await sackCadence(opts.bytes);
  const losses = await isolatedLosses(50);
  return { bytes: opts.bytes, ...cadence, lossEvery: 50, ...losses };
}

export function formatWeriftSctp(f: WeriftSctpFigures): string[] {
  const ratio = fmt(f.sacks / f.dataPackets, 2);
  return [
    `SACKs per DATA packet over ${fmt(f.bytes / MiB, 0)} MiB: ${ratio} (${f.sacks} / ${f.dataPackets}; target < 0.6, 1.0 as published)`,
    `1 DATA packet in ${f.lossEvery} lost (${f.lost}): ${f.expiries} retransmission-timer expiries (target 0)`,
  ];
}

// Run alone (`npm run build && node dist/bench/werift-sctp.js [--quick]`) to check a werift update or a patch hunk.
if (startedAs('werift-sctp.js')) {
  runWeriftSctpBench({ bytes: process.argv.includes('--quick') ? 2 * MiB : 20 * MiB }).then(
    (f) => console.log(formatWeriftSctp(f).join('\n')),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
