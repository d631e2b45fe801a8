/**
 * What the relay core (core.ts, room-decisions.ts) asks the socket glue (sockets.ts) to do: plain data, so the
 * core's decisions can be tested without a socket.
 */
import { createError, type ErrorCode, type RelayToClient } from '@portunus/protocol';
import type { ConnId } from './connections.js';

export type RelayAction =
  | { type: 'send'; conn: ConnId; msg: RelayToClient }
  /** A peer message: the glue applies backpressure to `from` while `to` is slow. */
  | { type: 'forward'; from: ConnId; to: ConnId; msg: RelayToClient }
  | { type: 'close'; conn: ConnId; code: number; reason: string };

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
