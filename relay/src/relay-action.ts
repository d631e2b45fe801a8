/**
 * What the relay core (core.ts, room-decisions.ts) asks the socket glue (sockets.ts) to do: plain data, so the
 * core's decisions can be tested without a socket.
 */
import { createError, type ErrorCode, type RelayToClient } from '@portunus/protocol';
import type { ConnId } from './connections.js';
import type { RouteRequest } from './route.js';

export type RelayAction =
  | { type: 'send'; conn: ConnId; msg: RelayToClient }
  /** A peer message: the glue applies backpressure to `from` while `to` is slow. */
  | { type: 'forward'; from: ConnId; to: ConnId; msg: RelayToClient }
  | { type: 'close'; conn: ConnId; code: number; reason: string }
  /** Several instances (PROTOCOL.md §12): ask the shared state where this rendezvous goes, answer with core.routed. */
  | { type: 'route'; conn: ConnId; key: string; request: RouteRequest }
  /** The room lives on the instance at `url`: splice the connection there, replaying `hello` then `request`. */
  | { type: 'link'; conn: ConnId; url: string; hello: string; request: string };

/** Where a binary frame goes, or what to do instead. */
export type BinaryResult = { forward: ConnId } | { actions: RelayAction[] };

/** The `error` message, then the close with that error's close code (PROTOCOL.md §2.3). */
export function errorAndClose(conn: ConnId, code: ErrorCode, message: string): RelayAction[] {
  return [
    { type: 'send', conn, msg: { type: 'error', code, message } },
    { type: 'close', conn, code: createError(code, message).closeCode, reason: message.slice(0, 100) },
  ];
}

/** `peer-left` (`lost`: the peer may come back, PROTOCOL.md §2.13), then close 4006 (PEER_GONE). */
export function peerLeft(conn: ConnId, lost = false): RelayAction[] {
  return [
    { type: 'send', conn, msg: lost ? { type: 'peer-left', lost } : { type: 'peer-left' } },
    { type: 'close', conn, code: createError('PEER_GONE', '').closeCode, reason: 'peer left' },
  ];
}
