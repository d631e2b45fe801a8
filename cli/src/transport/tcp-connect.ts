/**
 * Opening the direct TCP path (PROTOCOL.md §6.3): listen on an ephemeral port, tell the peer where (a sealed
 * `hints` message, through `exchange`), dial the peer's hints, run the binding handshake on every connection both
 * ways, and keep the one the receiver chooses: the first whose binding checked. Every other socket and the listener
 * are closed once it is chosen, or when `signal` aborts.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import {
  createError,
  isIpLiteral,
  MAX_TCP_HINTS,
  type Key,
  type RandomBytes,
  type Role,
  type TcpHint,
} from '@portunus/protocol';
import type { HintExchange } from '@portunus/client';
import { TcpTransport } from './tcp.js';
import { tcpHandshake } from './tcp-handshake.js';

/** The peer's hints are dialed this many at a time, each for at most DIAL_TIMEOUT_MS. */
export const PARALLEL_DIALS = 4;
export const DIAL_TIMEOUT_MS = 3_000;
/** Connections open at once on the listener (each handshake is bounded in time); Node refuses more. */
export const MAX_INBOUND = 8;

export interface TcpConnectOptions {
  role: Role;
  bindingKey: Key<'binding'>;
  exchange: HintExchange;
  random: RandomBytes;
  signal: AbortSignal;
  /** Address to listen on: the LAN --bind address, else all interfaces. */
  listenHost?: string;
  /** The addresses to announce for `port` (default: 127.0.0.1 and every non-internal interface address). */
  hintsFor?(port: number): TcpHint[];
  debug?(message: string): void;
}

/**
 * 127.0.0.1 (two processes on one machine) and each non-internal IPv4 interface address: the listener binds
 * 0.0.0.0 (IPv4, like the LAN mode's --bind), so an IPv6 hint would only be refused.
 */
export function localHints(port: number, listenHost?: string): TcpHint[] {
  if (listenHost !== undefined && listenHost !== '0.0.0.0') return [{ host: listenHost, port }];
  const hosts = ['127.0.0.1'];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      const usable = !a.internal && a.family === 'IPv4' && isIpLiteral(a.address);
      if (usable && !hosts.includes(a.address)) hosts.push(a.address);
    }
  }
  return hosts.slice(0, MAX_TCP_HINTS).map((host) => ({ host, port }));
}

export async function connectTcp(opts: TcpConnectOptions): Promise<TcpTransport> {
  opts.signal.throwIfAborted();
  const sockets = new Set<Socket>();
  let winner: { socket: Socket; leftover: Buffer } | undefined;
  let settle!: (w: { socket: Socket; leftover: Buffer }) => void;
  const won = new Promise<{ socket: Socket; leftover: Buffer }>((resolve) => (settle = resolve));
  const handshake = { key: opts.bindingKey, role: opts.role, random: opts.random };
  // The receiver claims a connection synchronously, so two handshakes finishing together cannot both be chosen.
  let claimed = false;
  const claim = (): boolean => !claimed && (claimed = true);

  const attempt = (socket: Socket, dialed: boolean): void => {
    sockets.add(socket);
    socket.on('error', () => undefined); // reported through the handshake or the transport
    tcpHandshake(socket, { ...handshake, dialed }, claim).then(
      (leftover) => {
        if (winner !== undefined) return void socket.destroy();
        winner = { socket, leftover };
        settle(winner);
      },
      (err: unknown) => {
        opts.debug?.(`direct TCP ${dialed ? 'dial' : 'connection'} refused: ${(err as Error).message}`);
        sockets.delete(socket);
        socket.destroy();
      },
    );
  };

  const server = await listen(opts.listenHost ?? '0.0.0.0');
  server.maxConnections = MAX_INBOUND;
  server.on('connection', (socket) => attempt(socket, false));
  const stop = new AbortController();
  const onAbort = () => stop.abort(opts.signal.reason);
  opts.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const port = (server.address() as { port: number }).port;
    await opts.exchange.sendHints(opts.hintsFor ? opts.hintsFor(port) : localHints(port, opts.listenHost));
    void dialAll(opts, stop.signal, (socket) => attempt(socket, true));
    const chosen = await Promise.race([won, rejectOnAbort(stop.signal)]);
    sockets.delete(chosen.socket);
    return new TcpTransport(chosen.socket, chosen.leftover);
  } finally {
    stop.abort(createError('CANCELLED', 'the direct TCP attempt is over'));
    opts.signal.removeEventListener('abort', onAbort);
    for (const socket of sockets) socket.destroy();
    server.close();
  }
}

function listen(host: string): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const server = createServer({ pauseOnConnect: false });
    server.once('error', (err) =>
      reject(createError('DIRECT_FAILED', `cannot listen for a direct TCP connection on ${host}`, { cause: err })),
    );
    server.listen({ host, port: 0 }, () => resolve(server));
  });
}

/** Dials the peer's hints, PARALLEL_DIALS at a time, each bounded; every connected socket goes to `onSocket`. */
async function dialAll(
  opts: TcpConnectOptions,
  signal: AbortSignal,
  onSocket: (socket: Socket) => void,
): Promise<void> {
  let hints: TcpHint[];
  try {
    hints = await opts.exchange.peerHints(signal);
  } catch {
    return;
  }
  const queue = [...hints];
  const worker = async (): Promise<void> => {
    for (let hint = queue.shift(); hint !== undefined && !signal.aborted; hint = queue.shift()) {
      const socket = await dial(hint, signal).catch((err: unknown) => {
        opts.debug?.(`direct TCP dial to ${hint!.host}:${hint!.port} failed: ${(err as Error).message}`);
        return undefined;
      });
      if (socket !== undefined) onSocket(socket);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_DIALS }, worker));
}

function dial(hint: TcpHint, signal: AbortSignal): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    // Not net.connect's own `signal` option: that would destroy the socket on abort even after it was chosen.
    const socket = connect({ host: hint.host, port: hint.port, timeout: DIAL_TIMEOUT_MS });
    const onAbort = () => fail(new Error('aborted'));
    const fail = (err: Error) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    };
    if (signal.aborted) return fail(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.setTimeout(0);
      socket.off('error', fail);
      resolve(socket);
    });
    socket.once('timeout', () => fail(new Error('timed out')));
    socket.once('error', fail);
  });
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
