/** The baseline every path is compared with: the same bytes through a plain Node TCP pipe on loopback. */
import { connect, createServer } from 'node:net';
import { mb } from './processes.js';

/** Plain TCP on loopback, one process: 1 MiB writes honouring 'drain', the reader only counts. Returns MB/s. */
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
