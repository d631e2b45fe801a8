/**
 * The relay's open WebSockets: performs the core's actions on them, forwards peer traffic with backpressure and
 * runs the keepalive.
 *
 * Backpressure: when a frame would take the receiving socket's queue above the high-water mark, the relay stops
 * reading from the sending socket (`ws.pause()`) until that frame has been handed to the kernel (its send
 * callback), i.e. until the receiver has drained. TCP then pushes back on the sender, so each direction of a room
 * holds at most about highWaterMark + one read chunk + one frame, whatever the file size and the reader's speed.
 */
import WebSocket from 'ws';
import { encodeRelayMessage } from '@portunus/protocol';
import type { RelayAction } from './relay-action.js';
import type { Logger } from './logger.js';
import type { ConnId } from './connections.js';
import { YoungGc } from './young-gc.js';

interface Entry {
  readonly ws: WebSocket;
  /** Something arrived (a pong or any message) since the last ping. */
  alive: boolean;
  lastBuffered: number;
  /** Reading is paused because this connection's peer is slow. */
  paused: boolean;
  /** The keepalive gave up on it: its client went silent (its peer may see it come back, PROTOCOL.md §2.13). */
  dropped: boolean;
}

export interface SocketStats {
  open: number;
  /** Bytes queued in the relay towards all clients right now. */
  bufferedBytes: number;
  /** Most bytes ever queued towards one client right after a forward. */
  peakBufferedBytes: number;
  /** Connections the relay is not reading from because their peer is slow. */
  pausedConnections: number;
}

export class Sockets {
  private readonly entries = new Map<ConnId, Entry>();
  private peakBuffered = 0;
  private emptyWaiters: (() => void)[] = [];
  /** Each forwarded message leaves its buffer behind: collected every few MiB (young-gc.ts). */
  private readonly young = new YoungGc();

  constructor(
    private readonly options: {
      highWaterMark: number;
      logger: Logger;
      /** Performs what concerns several relay instances (route, link: cluster.ts). */
      cluster?: (action: Extract<RelayAction, { type: 'route' | 'link' }>) => void;
    },
  ) {}

  get size(): number {
    return this.entries.size;
  }

  add(conn: ConnId, ws: WebSocket): void {
    this.entries.set(conn, { ws, alive: true, lastBuffered: 0, paused: false, dropped: false });
  }

  remove(conn: ConnId): void {
    this.entries.delete(conn);
    if (this.entries.size === 0) {
      for (const wake of this.emptyWaiters.splice(0)) wake();
    }
  }

  /** The WebSocket of `conn`, while it is in the table. */
  socket(conn: ConnId): WebSocket | undefined {
    return this.entries.get(conn)?.ws;
  }

  /** Whether the keepalive dropped `conn` (ask before `remove`). */
  wasDropped(conn: ConnId): boolean {
    return this.entries.get(conn)?.dropped === true;
  }

  markAlive(conn: ConnId): void {
    const entry = this.entries.get(conn);
    if (entry !== undefined) entry.alive = true;
  }

  perform(actions: readonly RelayAction[]): void {
    for (const action of actions) {
      switch (action.type) {
        case 'send': {
          const ws = this.entries.get(action.conn)?.ws;
          if (ws?.readyState === WebSocket.OPEN) ws.send(encodeRelayMessage(action.msg));
          break;
        }
        case 'forward':
          this.forward(action.from, action.to, encodeRelayMessage(action.msg), false);
          break;
        case 'close':
          this.close(action.conn, action.code, action.reason);
          break;
        case 'route':
        case 'link':
          this.options.cluster?.(action);
          break;
      }
    }
  }

  /** Sends `data` to `to`, pausing `from` while `to`'s queue is above the high-water mark. */
  forward(from: ConnId, to: ConnId, data: Buffer | string, binary: boolean): void {
    const target = this.entries.get(to);
    if (target === undefined || target.ws.readyState !== WebSocket.OPEN) return;
    const source = this.entries.get(from);
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (source !== undefined && !source.paused && target.ws.bufferedAmount + size > this.options.highWaterMark) {
      source.paused = true;
      source.ws.pause();
      target.ws.send(data, { binary }, () => this.resume(from));
    } else {
      target.ws.send(data, { binary });
    }
    const buffered = target.ws.bufferedAmount;
    if (buffered > this.peakBuffered) this.peakBuffered = buffered;
    this.young.moved(size);
  }

  private resume(conn: ConnId): void {
    const entry = this.entries.get(conn);
    if (entry === undefined || !entry.paused) return;
    entry.paused = false;
    entry.ws.resume();
  }

  private close(conn: ConnId, code: number, reason: string): void {
    const entry = this.entries.get(conn);
    if (entry === undefined) return;
    // A paused socket could never read the client's half of the closing handshake.
    if (entry.paused) this.resume(conn);
    this.options.logger.debug('closing', { conn, code });
    entry.ws.close(code, reason);
  }

  /**
   * One keepalive round. A connection that showed no sign of life since the previous round is terminated. Signs of
   * life: a pong or any message, or a shrinking send queue (a slow reader is busy reading, not dead). Connections
   * the relay itself paused are skipped: their pongs wait, unread, behind the data.
   */
  keepalive(): void {
    for (const entry of this.entries.values()) {
      if (entry.ws.readyState !== WebSocket.OPEN || entry.paused) continue;
      const buffered = entry.ws.bufferedAmount;
      if (!entry.alive && buffered >= entry.lastBuffered) {
        entry.dropped = true;
        entry.ws.terminate();
        continue;
      }
      entry.alive = false;
      entry.lastBuffered = buffered;
      entry.ws.ping();
    }
  }

  terminateAll(): void {
    for (const entry of this.entries.values()) entry.ws.terminate();
  }

  /** Resolves when no socket is left or after `ms`, whichever comes first (or when `cut` resolves). */
  waitUntilEmpty(ms: number, cut?: Promise<void>): Promise<void> {
    if (this.entries.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.emptyWaiters.push(done);
      void cut?.then(done);
    });
  }

  stats(): SocketStats {
    let bufferedBytes = 0;
    let pausedConnections = 0;
    for (const entry of this.entries.values()) {
      bufferedBytes += entry.ws.bufferedAmount;
      if (entry.paused) pausedConnections++;
    }
    return { open: this.entries.size, bufferedBytes, peakBufferedBytes: this.peakBuffered, pausedConnections };
  }
}
