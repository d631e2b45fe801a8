/**
 * Messages between the two peers, carried in the relay's `msg` bodies (a direct path carries data frames only).
 *
 * Two layers:
 * - handshake messages (`pake`, `confirm`) travel as clear UTF-8 JSON: they hold only public CPace shares and MACs;
 * - every message after key confirmation is sealed (frame.ts, message key of the sending side, stream 0) and its
 *   plaintext is UTF-8 JSON of a `SealedMessage`.
 * Parsers validate every field and never throw; unknown fields are ignored. An unknown `type` is reported: the
 * abilities exchange means a peer never sends a type the other did not announce, so it is a protocol error.
 */
import { toBase64Url, utf8, fromUtf8 } from './bytes.js';
import { createError, isErrorCode, type ErrorCode, type PortunusError } from './errors.js';
import { parseOffer, type Offer } from './offer.js';
import { canonicalSignal, parseSignal, type Signal } from './signal.js';
import { asBoolean, asBytes, asHex, asInteger, asObject, asString, asStringList, parseJsonObject } from './validate.js';

export type Role = 'send' | 'receive';

/** Ability names announced in the PAKE message and bound into the key (see PROTOCOL.md §Abilities). */
export const ABILITY_RELAY = 'relay-v1';
/** Direct path: sealed WebRTC signalling, a data channel bound to the session key (PROTOCOL.md §Direct path). */
export const ABILITY_WEBRTC = 'webrtc-v1';
/** Direct TCP: sealed `hints` (listening addresses), connections bound to the session key (PROTOCOL.md §Direct TCP). */
export const ABILITY_TCP = 'tcp-v1';

/** One address a peer listens on for a direct TCP connection: an IPv4 or IPv6 literal (never a name) and a port. */
export interface TcpHint {
  host: string;
  port: number;
}
/** Hints one `hints` message may carry: loopback plus a few interfaces; more is refused, not truncated. */
export const MAX_TCP_HINTS = 16;

export const CPACE_ELEMENT_BYTES = 32;
/** The relay's session id (PROTOCOL.md §3 `paired`). */
const SID_BYTES = 16;
export const MAC_BYTES = 32;
const MAX_ABILITIES = 16;
const MAX_ABILITY_LENGTH = 32;
/** Bound on a sealed message's plaintext: a 64 KiB text offer may grow up to 6x when JSON-escaped. */
export const MAX_SEALED_MESSAGE_BYTES = 512 * 1024;
const MAX_ERROR_MESSAGE = 200;

export interface PakeMessage {
  type: 'pake';
  /** The pairing it belongs to (the relay's sid): a share left over from an earlier pairing is ignored. */
  sid: Uint8Array;
  role: Role;
  abilities: string[];
  y: Uint8Array;
}
export interface ConfirmMessage {
  type: 'confirm';
  mac: Uint8Array;
}
export type HandshakeMessage = PakeMessage | ConfirmMessage;

export type SealedMessage =
  | { type: 'offer'; offer: Offer }
  | { type: 'answer'; accept: true }
  | { type: 'answer'; accept: false; reason: 'REJECTED' | 'FILE_EXISTS' | 'DISK_FULL' }
  | { type: 'sent'; bytes: number; sha256: string }
  | { type: 'received'; bytes: number; sha256: string }
  | { type: 'error'; code: ErrorCode; message: string }
  | { type: 'signal'; signal: Signal }
  | { type: 'hints'; hints: TcpHint[] };

function protocolError(message: string): PortunusError {
  return createError('PROTOCOL', message);
}

export function encodeHandshake(msg: HandshakeMessage): Uint8Array {
  const json =
    msg.type === 'pake'
      ? { type: 'pake', sid: toBase64Url(msg.sid), role: msg.role, abilities: msg.abilities, y: toBase64Url(msg.y) }
      : { type: 'confirm', mac: toBase64Url(msg.mac) };
  return utf8(JSON.stringify(json));
}

/** Parses a handshake message, accepting only the type the caller expects at this point of the handshake. */
export function parseHandshake<T extends HandshakeMessage['type']>(
  body: Uint8Array,
  expected: T,
): Extract<HandshakeMessage, { type: T }> | PortunusError {
  if (body.length > 4096) return protocolError('handshake message too large');
  const text = fromUtf8(body);
  const o = text === undefined ? undefined : parseJsonObject(text);
  if (o === undefined) return protocolError('handshake message is not a JSON object');
  if (o.type !== expected) return protocolError(`expected a ${expected} message, got ${describeType(o.type)}`);
  if (expected === 'pake') {
    const role = o.role === 'send' || o.role === 'receive' ? o.role : undefined;
    const abilities = asStringList(o.abilities, MAX_ABILITIES, MAX_ABILITY_LENGTH);
    const y = asBytes(o.y, { exact: CPACE_ELEMENT_BYTES });
    const sid = asBytes(o.sid, { exact: SID_BYTES });
    if (role === undefined || abilities === undefined || y === undefined || sid === undefined) return protocolError('malformed pake message');
    return { type: 'pake', sid, role, abilities, y } as Extract<HandshakeMessage, { type: T }>;
  }
  const mac = asBytes(o.mac, { exact: MAC_BYTES });
  if (mac === undefined) return protocolError('malformed confirm message');
  return { type: 'confirm', mac } as Extract<HandshakeMessage, { type: T }>;
}

/** Exact JSON of a sealed message (fixed key order, so golden tests can pin the bytes). */
export function encodeSealed(msg: SealedMessage): Uint8Array {
  if (msg.type === 'signal') return utf8(JSON.stringify({ type: msg.type, signal: canonicalSignal(msg.signal) }));
  if (msg.type === 'hints') return utf8(JSON.stringify({ type: msg.type, hints: msg.hints.map((h) => ({ host: h.host, port: h.port })) }));
  return utf8(JSON.stringify(msg));
}

export function parseSealed(plaintext: Uint8Array): SealedMessage | PortunusError {
  if (plaintext.length > MAX_SEALED_MESSAGE_BYTES) return protocolError('sealed message too large');
  const text = fromUtf8(plaintext);
  const o = text === undefined ? undefined : parseJsonObject(text);
  if (o === undefined) return protocolError('sealed message is not a JSON object');
  switch (o.type) {
    case 'offer': {
      const offer = parseOffer(o.offer);
      return 'code' in offer ? offer : { type: 'offer', offer };
    }
    case 'answer': {
      const accept = asBoolean(o.accept);
      if (accept === true) return { type: 'answer', accept };
      const reason = o.reason === undefined ? 'REJECTED' : o.reason;
      if (accept === false && (reason === 'REJECTED' || reason === 'FILE_EXISTS' || reason === 'DISK_FULL')) {
        return { type: 'answer', accept, reason };
      }
      return protocolError('malformed answer message');
    }
    case 'sent':
    case 'received': {
      const bytes = asInteger(o.bytes, 0, Number.MAX_SAFE_INTEGER);
      const sha256 = asHex(o.sha256, 64);
      if (bytes === undefined || sha256 === undefined) return protocolError(`malformed ${o.type} message`);
      return { type: o.type, bytes, sha256 };
    }
    case 'error': {
      const code = isErrorCode(o.code) ? o.code : 'INTERNAL';
      const message = typeof o.message === 'string' ? o.message.slice(0, MAX_ERROR_MESSAGE) : '';
      return { type: 'error', code, message };
    }
    case 'signal': {
      const body = asObject(o.signal);
      const signal = body === undefined ? undefined : parseSignal(body);
      return signal === undefined ? protocolError('malformed signal message') : { type: 'signal', signal };
    }
    case 'hints': {
      const hints = parseTcpHints(o.hints);
      return hints === undefined ? protocolError('malformed hints message') : { type: 'hints', hints };
    }
    default:
      return protocolError(`unknown message type ${describeType(o.type)}`);
  }
}

/** The `hints` list: at most MAX_TCP_HINTS entries, each an IP literal (no names, no zone ids) and a port 1..65535. */
export function parseTcpHints(value: unknown): TcpHint[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_TCP_HINTS) return undefined;
  const hints: TcpHint[] = [];
  for (const item of value) {
    const o = asObject(item);
    const host = o === undefined ? undefined : asString(o.host, 45);
    const port = o === undefined ? undefined : asInteger(o.port, 1, 65535);
    if (host === undefined || port === undefined || !isIpLiteral(host)) return undefined;
    hints.push({ host, port });
  }
  return hints;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

/** An IPv4 dotted quad or an RFC 4291 IPv6 text address (with `::` and an embedded IPv4 tail), nothing else. */
export function isIpLiteral(host: string): boolean {
  if (IPV4.test(host)) return true;
  if (!host.includes(':') || host.length > 45) return false;
  const halves = host.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const all = [...groups(halves[0]!), ...groups(halves[1] ?? '')];
  const last = all[all.length - 1];
  const v4tail = last !== undefined && IPV4.test(last);
  const hextets = v4tail ? all.slice(0, -1) : all;
  if (!hextets.every((g) => HEXTET.test(g))) return false;
  const width = hextets.length + (v4tail ? 2 : 0);
  return halves.length === 2 ? width <= 7 : width === 8;
}

/** Names an untrusted `type` field for an error message without echoing arbitrary text. */
function describeType(type: unknown): string {
  const s = asString(type, 32);
  return s !== undefined && /^[a-z-]+$/.test(s) ? `'${s}'` : 'an invalid type';
}

