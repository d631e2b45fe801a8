/**
 * Links (PROTOCOL.md §12): a client whose room lives on another relay instance keeps its WebSocket to this one, and
 * this instance opens a WebSocket of its own to the room's instance (its advertise URL + RELAY_PATH, with the link
 * header), replays the client's `hello` (swallowing the `welcome`) and its rendezvous message, then splices the two:
 * every frame both ways as it came (text stays text, binary stays binary), with the socket table's backpressure both
 * ways (the source is paused while the destination's queue is over the high-water mark), and close codes and
 * reasons mirrored. Each hop has its own keepalive: the link is in the socket table like any connection.
 *
 * A link has a negative id in the socket table, so it never meets a core connection id. While it opens, what the
 * client sends is queued, bounded (QUEUE_FRAMES frames, the message size each); beyond that the client is refused.
 */
import WebSocket from 'ws';
import { isParseError, parseRelayMessage, RELAY_PATH } from '@portunus/protocol';
import type { ConnId } from './connections.js';
import { LINK_HEADER } from './link-header.js';
import type { Logger } from './logger.js';
import { spliceRaw } from './raw-splice.js';
import { errorAndClose } from './relay-action.js';
import type { Sockets } from './sockets.js';

const QUEUE_FRAMES = 16;
/** How long the room's instance has to accept the link. */
const OPEN_TIMEOUT_MS = 5_000;

interface Link {
  readonly id: ConnId;
  readonly ws: WebSocket;
  spliced: boolean;
  /** Piped as bytes (raw-splice.ts), or a try at it is scheduled. */
  raw: 'no' | 'trying' | 'yes';
  readonly queue: { data: Buffer; binary: boolean }[];
}

export interface InstanceLinksDeps {
  sockets: Sockets;
  logger: Logger;
  maxPayload: number;
  /** The link header for a client at `address`, or undefined while this instance has no link secret. */
  header(address: string): string | undefined;
  /** A link was opened (metrics). */
  onLink(): void;
  /** A link is piped as bytes from now on (metrics). */
  onPiped(): void;
}

export class InstanceLinks {
  private readonly links = new Map<ConnId, Link>();
  private nextId = -1;

  constructor(private readonly deps: InstanceLinksDeps) {}

  get size(): number {
    return this.links.size;
  }

  /** Links `conn` (from `address`) to the instance at `url`, replaying `hello` then `request`. */
  open(conn: ConnId, address: string, url: string, hello: string, request: string): void {
    const { sockets, logger } = this.deps;
    const header = this.deps.header(address);
    if (header === undefined) return this.refuse(conn, 'this relay instance cannot link to the others yet');
    const ws = new WebSocket(`${url.replace(/\/$/, '')}${RELAY_PATH}`, {
      headers: { [LINK_HEADER]: header },
      perMessageDeflate: false,
      maxPayload: this.deps.maxPayload,
      handshakeTimeout: OPEN_TIMEOUT_MS,
    });
    const link: Link = { id: this.nextId--, ws, spliced: false, raw: 'no', queue: [] };
    this.links.set(conn, link);
    sockets.add(link.id, ws);
    this.deps.onLink();
    ws.on('open', () => ws.send(hello));
    ws.on('pong', () => sockets.markAlive(link.id));
    ws.on('error', (err) => logger.debug('link error', { conn, error: err.message.slice(0, 200) }));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      sockets.markAlive(link.id);
      if (link.spliced) {
        sockets.forward(link.id, conn, data, isBinary);
        return this.tryRaw(conn, link);
      }
      const msg = isBinary ? undefined : parseRelayMessage(data.toString('utf8'));
      if (msg === undefined || isParseError(msg) || msg.type !== 'welcome') {
        // Refused before the splice (a limit, a shutdown): the client gets the answer, and the close follows.
        return sockets.forward(link.id, conn, data, isBinary);
      }
      link.spliced = true;
      ws.send(request);
      for (const frame of link.queue.splice(0)) sockets.forward(conn, link.id, frame.data, frame.binary);
      this.tryRaw(conn, link);
    });
    ws.on('close', (code: number, reason: Buffer) => this.linkClosed(conn, link, code, reason.toString()));
  }

  /** A frame from a linked client: spliced (or queued while the link opens). False when `conn` is not linked. */
  fromClient(conn: ConnId, data: Buffer, binary: boolean): boolean {
    const link = this.links.get(conn);
    if (link === undefined) return false;
    if (link.spliced) {
      this.deps.sockets.forward(conn, link.id, data, binary);
      this.tryRaw(conn, link);
    } else if (link.queue.length < QUEUE_FRAMES) {
      link.queue.push({ data, binary });
    } else {
      this.refuse(conn, 'too many messages before the rendezvous was answered', 'RELAY_PROTOCOL');
    }
    return true;
  }

  /**
   * Once the events of this turn are through, pipes the link as bytes if both WebSockets are idle (raw-splice.ts);
   * otherwise a later frame tries again. The rendezvous leaves them idle at once, in practice.
   */
  private tryRaw(conn: ConnId, link: Link): void {
    if (link.raw !== 'no') return;
    link.raw = 'trying';
    setImmediate(() => {
      const client = this.deps.sockets.socket(conn);
      if (this.links.get(conn) !== link || client === undefined) return;
      link.raw = spliceRaw(client, link.ws) ? 'yes' : 'no';
      if (link.raw === 'yes') this.deps.onPiped();
    });
  }

  /** The linked client went: so does its link, with the client's close code when it can be sent on. */
  clientClosed(conn: ConnId, code: number): void {
    const link = this.links.get(conn);
    if (link === undefined) return;
    this.links.delete(conn);
    if (link.ws.readyState === WebSocket.CONNECTING) return link.ws.terminate();
    link.ws.close(sendable(code) ? code : 1000);
  }

  private linkClosed(conn: ConnId, link: Link, code: number, reason: string): void {
    this.deps.sockets.remove(link.id);
    if (this.links.get(conn) !== link) return;
    this.links.delete(conn);
    if (sendable(code)) return this.deps.sockets.perform([{ type: 'close', conn, code, reason }]);
    // The room's instance went away without a close (killed, or unreachable): say so, in the relay's words.
    if (!link.spliced) return this.refuse(conn, 'the relay instance holding this room cannot be reached');
    this.deps.sockets.perform(errorAndClose(conn, 'RELAY_SHUTDOWN', 'the relay instance holding this room went away'));
  }

  private refuse(
    conn: ConnId,
    message: string,
    code: 'RELAY_STATE_UNAVAILABLE' | 'RELAY_PROTOCOL' = 'RELAY_STATE_UNAVAILABLE',
  ): void {
    this.deps.logger.info('rejected', { conn, code, reason: 'cluster' });
    const link = this.links.get(conn);
    if (link !== undefined) {
      this.links.delete(conn);
      link.ws.terminate();
    }
    this.deps.sockets.perform(errorAndClose(conn, code, message));
  }
}

/** Close codes one may send in a close frame (1005, 1006 and 1015 only ever describe what happened). */
function sendable(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)
  );
}
