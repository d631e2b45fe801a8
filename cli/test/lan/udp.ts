/** Loopback-only UDP helpers for the LAN tests: a free port, and a socket whose datagrams can be awaited. */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Ipv4Interface } from '../../src/lan/targets.js';

/** Only loopback: the tests never send a datagram to a real network. */
export const LOOPBACK_ONLY = (): Ipv4Interface[] => [{ address: '127.0.0.1', netmask: '255.0.0.0', internal: true }];

export const GROUP = '239.255.47.47';

/** A UDP port that was free a moment ago (bound and released on 127.0.0.1). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface Heard {
  msg: Buffer;
  from: RemoteInfo;
}

export interface TestSocket {
  socket: Socket;
  heard: Heard[];
  /** Resolves once `count` datagrams have arrived in total (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<Heard[]>;
  send(bytes: Uint8Array | string, port: number, address: string): Promise<void>;
  close(): Promise<void>;
}

/** A socket bound to `address:port` (port 0: any) that records what it hears. */
export async function testSocket(address = '127.0.0.1', port = 0, reuseAddr = false): Promise<TestSocket> {
  const socket = createSocket({ type: 'udp4', reuseAddr });
  const heard: Heard[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (msg, from) => {
    heard.push({ msg, from });
    waiters.forEach((w) => w());
  });
  await new Promise<void>((resolve) => socket.bind(port, address, resolve));
  socket.setBroadcast(true);
  return {
    socket,
    heard,
    waitFor: (count, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (heard.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(heard.slice(0, count));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`heard ${heard.length} of ${count} datagrams within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    send: (bytes, toPort, toAddress) =>
      new Promise((resolve, reject) => socket.send(bytes, toPort, toAddress, (err) => (err ? reject(err) : resolve()))),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
