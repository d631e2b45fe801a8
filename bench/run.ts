/**
 * `npm run bench`: every speed and memory figure, measured in one run on this machine, with the targets beside
 * them. Tests never assert timings; this is where they are watched.
 *   --quick                  smaller sizes (for a smoke run)
 *   --hold-page-reporting    hold the VM's free page reporting for the run (bench/file-write.ts)
 */
import { formatClusterBench, runClusterBench } from './cluster.js';
import { formatCryptoBench, runCryptoBench } from './crypto.js';
import { formatDropsShared, runDropsShared } from './drops-shared.js';
import { formatRelayIdle, measureRelayIdle } from './relay-idle.js';
import { formatPageBench, runPageBench } from './page.js';
import { formatPaths, runPathsBench } from './paths.js';
import { holdPageReportingIfAsked } from './file-write.js';
import { formatWebRtc, runWebRtcBench } from './webrtc.js';
import { formatWeriftSctp, runWeriftSctpBench } from './werift-sctp.js';
import { formatStartup, runStartupBench } from './startup.js';

const quick = process.argv.includes('--quick');
const pageReportingHeld = holdPageReportingIfAsked(process.argv);
const GiB = 1024 * 1024 * 1024;

async function main(): Promise<void> {
  console.log(`portunus bench — Node ${process.version}, ${new Date().toISOString()}${quick ? ' (quick)' : ''}`);

  console.log('\n== Start-up: help, send --help and 1 KiB end to end, against node -e 0 (issue #18) ==');
  for (const line of formatStartup(await runStartupBench({ runs: quick ? 5 : 10 }))) console.log(line);

  console.log('\n== Framing (AES-256-GCM, one core) ==');
  const crypto = await runCryptoBench({ totalBytes: quick ? 64 * 1024 * 1024 : 256 * 1024 * 1024 });
  for (const line of formatCryptoBench(crypto)) console.log(line);

  console.log('\n== Every data path: send → receive as real processes on loopback, against a plain TCP pipe ==');
  for (const line of formatPaths(
    await runPathsBench({
      pageReportingHeld,
      bytes: quick ? 200 * 1000 * 1000 : GiB,
      ...(quick ? { webrtcBytes: 100 * 1000 * 1000 } : {}),
    }),
  )) {
    console.log(line);
  }

  console.log('\n== The page (Chromium) ↔ the CLI ==');
  const page = await runPageBench({ bytes: quick ? 20 * 1000 * 1000 : 100 * 1000 * 1000 }).catch((err: unknown) => err);
  if (page instanceof Error) console.log(`the page in Chromium: FAILED: ${page.message.split('\n')[0]}`);
  else for (const line of formatPageBench(page as Awaited<ReturnType<typeof runPageBench>>)) console.log(line);

  console.log('\n== Direct path: WebRTC data channel, each engine (loopback) ==');
  for (const engine of ['werift', 'libdatachannel'] as const) {
    const figures = await runWebRtcBench({ bytes: quick ? 20 * 1000 * 1000 : 200 * 1000 * 1000, engine }).catch(
      (err: unknown) => err,
    );
    if (figures instanceof Error) console.log(`direct path (${engine}): FAILED: ${figures.message.split('\n')[0]}`);
    else for (const line of formatWebRtc(figures as Awaited<ReturnType<typeof runWebRtcBench>>)) console.log(line);
  }

  console.log('\n== werift SCTP, as patched: SACK cadence and loss repair (two peers in one process, loopback) ==');
  const sctp = await runWeriftSctpBench({ bytes: quick ? 2 * 1024 * 1024 : 20 * 1024 * 1024 });
  for (const line of formatWeriftSctp(sctp)) console.log(line);

  console.log('\n== Drops: records in a shared Redis (--redis) against one relay alone ==');
  for (const line of formatDropsShared(await runDropsShared({ drops: quick ? 50 : 200, bytes: 256 * 1024 })))
    console.log(line);

  console.log('\n== Relay memory: idle connections ==');
  console.log(formatRelayIdle(await measureRelayIdle({ connections: 1000 })));

  console.log('\n== Several relay instances: one vs three behind haproxy, and RSS per 1,000 rooms ==');
  for (const line of formatClusterBench(await runClusterBench({ quick }))) console.log(line);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
