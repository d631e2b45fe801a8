/**
 * The relay's control messages as JSON (PROTOCOL.md §2; their types and parsers: relay-messages.ts). Each object is
 * built field by field in a fixed order, so the JSON is exact and golden tests can pin it.
 */
import { toBase64Url } from './bytes.js';
import { encodeIceServer } from './ice-server.js';
import type { ClientToRelay, RelayToClient } from './relay-messages.js';

/** Exact JSON of a client→relay message (fields in the documented order, extra properties dropped). */
export function encodeClientMessage(msg: ClientToRelay): string {
  switch (msg.type) {
    case 'hello':
      return JSON.stringify({ type: msg.type, protocol: msg.protocol, agent: msg.agent });
    case 'allocate':
      return JSON.stringify(
        msg.seats === undefined || msg.seats === 1 ? { type: msg.type } : { type: msg.type, seats: msg.seats },
      );
    case 'claim':
      return JSON.stringify({ type: msg.type, nameplate: msg.nameplate });
    case 'join':
      return JSON.stringify({ type: msg.type, nameplate: msg.nameplate, token: msg.token });
    case 'reconnect':
      return JSON.stringify({ type: msg.type, id: msg.id });
    case 'msg':
      return JSON.stringify({ type: msg.type, body: msg.body });
    case 'done':
      return JSON.stringify({ type: msg.type, ok: msg.ok });
    case 'pipe':
    case 'burn':
    case 'ping':
      return JSON.stringify({ type: msg.type });
  }
}

/** Exact JSON of a relay→client message (fields in the documented order, extra properties dropped). */
export function encodeRelayMessage(msg: RelayToClient): string {
  switch (msg.type) {
    case 'welcome':
      return JSON.stringify({
        type: msg.type,
        protocol: msg.protocol,
        relay: msg.relay,
        ...(msg.motd === undefined ? {} : { motd: msg.motd }),
        ...(msg.page === true ? { page: true } : {}),
      });
    case 'allocated':
      return JSON.stringify(
        msg.token === undefined
          ? { type: msg.type, nameplate: msg.nameplate }
          : { type: msg.type, nameplate: msg.nameplate, token: msg.token },
      );
    case 'claimed':
      return JSON.stringify({ type: msg.type, nameplate: msg.nameplate, side: msg.side });
    case 'paired':
      return JSON.stringify(
        msg.ice === undefined || msg.ice.length === 0
          ? { type: msg.type, sid: toBase64Url(msg.sid), side: msg.side }
          : { type: msg.type, sid: toBase64Url(msg.sid), side: msg.side, ice: msg.ice.map(encodeIceServer) },
      );
    case 'reconnected':
      return JSON.stringify({ type: msg.type, sid: toBase64Url(msg.sid) });
    case 'msg':
      return JSON.stringify({ type: msg.type, body: msg.body });
    case 'peer-left':
      return JSON.stringify(msg.lost === true ? { type: msg.type, lost: true } : { type: msg.type });
    case 'error':
      return JSON.stringify({ type: msg.type, code: msg.code, message: msg.message });
    case 'pipe-open':
    case 'unpaired':
    case 'pong':
      return JSON.stringify({ type: msg.type });
  }
}
