/**
 * A TLS endpoint in front of a relay, as a self-hoster's reverse proxy is: it ends TLS on 127.0.0.1 with the given
 * certificate and pipes the bytes both ways to the relay's plain TCP port.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';
import type { KeyPair } from './certificates.js';

export interface TlsFront {
  readonly port: number;
  close(): Promise<void>;
}

export async function startTlsFront(pair: KeyPair, relayPort: number): Promise<TlsFront> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer({ cert: readFileSync(pair.cert), key: readFileSync(pair.key) }, (client) => {
    const upstream = connect(relayPort, '127.0.0.1');
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  // A client that rejects the certificate ends the handshake: that is the case under test, not a failure here.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
