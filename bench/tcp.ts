/**
 * The direct TCP path's benchmark (issue 7 §1): one file from `portunus send --transport tcp` to `portunus receive
 * --transport tcp` on loopback (the local relay carries only the handshake and the sealed hints), and, as the
 * baseline, the same number of bytes through a plain Node TCP pipe on loopback. Reports MB/s, the ratio to the pipe
 * (target ≥ 0.4×) and peak RSS per process (target ≤ 150 MB). Run alone with `npx tsx bench/tcp.ts [--quick]`.
 */
import { createServer, connect } from 'node:net';
import { fmt, mb } from './processes.js';
import { runTransferBench, type TransferFigures } from './transfer.js';

export interface TcpFigures {
  path: TransferFigures;
  pipeMbps: number;
}

/** Plain TCP on loopback, same process: 1 MiB writes honouring 'drain', the reader only counts. */
export async function plainPipeMbps(bytes: number): Promise<number> {
  const chunk = Buffer.alloc(1024 * 1024, 7);
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const server = createServer((socket) => {
    socket.on('data', (c: Buffer) => {
      received += c.length;
      if (received >= bytes) done();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const start = process.hrtime.bigint();
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!socket.write(sent + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - sent))) {
      await new Promise<void>((resolve) => socket.once('drain', resolve));
    }
  }
  await finished;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return mb(bytes) / seconds;
}

export async function runTcpBench(opts: { bytes: number }): Promise<TcpFigures> {
  const path = await runTransferBench({ bytes: opts.bytes, transport: 'tcp' });
  return { path, pipeMbps: await plainPipeMbps(opts.bytes) };
}

export function formatTcp(f: TcpFigures): string[] {
  const p = f.path;
  return [
    `tcp path: ${fmt(mb(p.bytes), 0)} MB in ${fmt(p.seconds, 2)} s = ${fmt(p.mbps)} MB/s, SHA-256 ${p.sha256Match ? 'matches' : 'MISMATCH'}`,
    `  plain TCP pipe (baseline): ${fmt(f.pipeMbps)} MB/s; ratio ${fmt(p.mbps / f.pipeMbps, 2)}× (target ≥ 0.4×)`,
    `  peak RSS: sender ${fmt(mb(p.peakRss.sender))} MB, receiver ${fmt(mb(p.peakRss.receiver))} MB, relay ${fmt(mb(p.peakRss.relay))} MB (target ≤ 150 each)`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const bytes = process.argv.includes('--quick') ? 200 * 1000 * 1000 : 1024 * 1024 * 1024;
  runTcpBench({ bytes }).then(
    (f) => console.log(formatTcp(f).join('\n')),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
