/**
 * The per-connection WebSocket event handlers: everything a client sends goes to the core (or, for a connection
 * linked to another relay instance, straight down its link, PROTOCOL.md §12), whose actions the socket table performs.
 */
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import { RELAY_PATH } from '@portunus/protocol';
import type { Cluster } from './cluster.js';
import type { ConnId } from './connections.js';
import type { RelayCore } from './core.js';
import type { Logger } from './logger.js';
import type { Sockets } from './sockets.js';

export interface Glue {
  readonly core: RelayCore;
  readonly sockets: Sockets;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly cluster: Cluster | undefined;
}

/** The per-connection event handlers: everything goes through the core, whose actions the socket table performs. */
export function attachSocket(conn: ConnId, ws: WebSocket, glue: Glue): void {
  const { core, sockets, clock } = glue;
  ws.on('message', function socketOnMessage(data: WebSocket.RawData, isBinary: boolean) {
    sockets.markAlive(conn);
    const bytes = data as Buffer; // binaryType is 'nodebuffer': always one Buffer
    if (glue.cluster?.fromClient(conn, bytes, isBinary) === true) return;
    if (isBinary) {
      const result = core.binary(conn, bytes.length, clock());
      if ('forward' in result) sockets.forward(conn, result.forward, bytes, true);
      else sockets.perform(result.actions);
      return;
    }
    sockets.perform(core.text(conn, bytes.toString('utf8'), bytes.length, clock()));
  });
  ws.on('pong', function socketOnPong() {
    sockets.markAlive(conn);
  });
  ws.on('error', function socketOnError(err: Error & { code?: string }) {
    // ws has already started closing with the matching code (1009 too big, 1007 bad UTF-8, 1002 bad framing).
    if (err.code?.startsWith('WS_ERR_') !== true) return;
    const reason = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too_big' : 'bad_message';
    glue.logger.info('rejected frame', { conn, code: err.code });
    sockets.perform(core.socketError(conn, reason, clock()));
  });
  ws.on('close', function socketOnClose(code: number) {
    glue.logger.debug('disconnected', { conn, code });
    // A client the keepalive gave up on went silent, and may come back; one whose socket closed (its process
    // ended, even killed: the kernel closes it) is gone.
    const dropped = sockets.wasDropped(conn);
    sockets.remove(conn);
    glue.cluster?.closed(conn, code);
    sockets.perform(core.closed(conn, clock(), dropped));
  });
}

export function isRelayPath(url: string | undefined): boolean {
  if (url === undefined) return false;
  const query = url.indexOf('?');
  return (query === -1 ? url : url.slice(0, query)) === RELAY_PATH;
}

export function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
