/**
 * Raw TCP sockets that have not become WebSockets yet, counted per client address from the HTTP server's
 * 'connection' event: beyond max-connections-per-ip from one address, a new socket is destroyed at once, before
 * it can hold a descriptor and a parser for the headers timeout. Once a socket asks for the upgrade it leaves this
 * count (the WebSocket limits in the core take over, with a close code the client can show).
 *
 * Counted by the socket peer, since no header has been read yet. A trusted proxy's sockets are not counted: they
 * carry many clients, each counted after the upgrade under its X-Forwarded-For address; the proxy itself must cap
 * the raw connections it accepts.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { addressKey, type ProxyTrust } from './address.js';
import { ConnectionCounts } from './connection-counts.js';

export class PreUpgradeSockets {
  private readonly counts: ConnectionCounts;
  /** Releases the count of a socket still counted (once: on upgrade or on close, whichever comes first). */
  private readonly releases = new WeakMap<Duplex, () => void>();

  constructor(
    private readonly options: {
      perAddress: number;
      trust: ProxyTrust | undefined;
      onRefused: () => void;
      /** Peers not counted: other relay instances opening links (cluster.ts). */
      exempt?: (peer: string) => boolean;
    },
  ) {
    this.counts = new ConnectionCounts({ total: Number.POSITIVE_INFINITY, perAddress: options.perAddress });
  }

  /** Sockets counted right now. */
  get size(): number {
    return this.counts.total;
  }

  /** A new TCP connection: counted, or destroyed when its address already holds its share. */
  accept(socket: Socket): void {
    const peer = socket.remoteAddress;
    if (peer === undefined || this.options.trust?.peer(peer) === true || this.options.exempt?.(peer) === true) return;
    const key = addressKey(peer);
    if (this.counts.admit(key) !== 'ok') {
      this.options.onRefused();
      socket.destroy();
      return;
    }
    let counted = true;
    const release = (): void => {
      if (!counted) return;
      counted = false;
      this.counts.release(key);
      this.releases.delete(socket);
    };
    this.releases.set(socket, release);
    socket.once('close', release);
  }

  /** The socket asked for the WebSocket upgrade: it no longer counts here. */
  upgrading(socket: Duplex): void {
    this.releases.get(socket)?.();
  }
}
