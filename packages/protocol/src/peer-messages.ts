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
import { MAX_WEBRTC_ATTEMPTS } from './signal.js';
import { asBoolean, asBytes, asHex, asInteger, asString, asStringList, parseJsonObject } from './validate.js';

export type Role = 'send' | 'receive';

/** Ability names announced in the PAKE message and bound into the key (see PROTOCOL.md §3.2). */
export const ABILITY_RELAY = 'relay-v1';
/** Direct path: sealed WebRTC signalling, a data channel bound to the session key (PROTOCOL.md §6.4). */
export const ABILITY_WEBRTC = 'webrtc-v1';
/** Direct TCP: sealed `hints` (listening addresses), connections bound to the session key (PROTOCOL.md §6.3). */
export const ABILITY_TCP = 'tcp-v1';

export const CPACE_ELEMENT_BYTES = 32;
/** The relay's session id (PROTOCOL.md §2.2 `paired`). */
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
  /**
   * `resume`: the receiver holds the first `bytes` of this file from an interrupted transfer, whose SHA-256 is
   * `sha256` (PROTOCOL.md §4.12); the sender answers with a `resume` message before any data.
   */
  | { type: 'answer'; accept: true; resume?: ResumeClaim }
  | { type: 'answer'; accept: false; reason: 'REJECTED' | 'FILE_EXISTS' | 'DISK_FULL' }
  /** Sender: the data starts at byte `bytes` — the receiver's claim when its prefix matched, else 0. */
  | { type: 'resume'; bytes: number }
  | { type: 'sent'; bytes: number; sha256: string }
  | { type: 'received'; bytes: number; sha256: string }
  | { type: 'error'; code: ErrorCode; message: string }
  /**
   * Setting up a path, for that path's layer (WebRTC SDP and candidates, TCP hints): `topic` is the path's ability
   * (only an agreed one may be used), `body` JSON the session does not read. Bounded in size and count.
   */
  | { type: 'signal'; topic: string; body: unknown };

/** What a receiver says it holds of the offered file: a prefix's length and its SHA-256 (lower-case hex). */
export interface ResumeClaim {
  bytes: number;
  sha256: string;
}

/** Largest `signal` body, as JSON (an SDP of MAX_SDP_BYTES, escaped, fits). */
export const MAX_SIGNAL_BODY_BYTES = 32 * 1024;
/** Signals a peer may send in one session: 128 per WebRTC attempt (one needs a few dozen; TCP one). */
export const MAX_PEER_SIGNALS = 128 * MAX_WEBRTC_ATTEMPTS;
const TOPIC = /^[a-z0-9][a-z0-9-]{0,31}$/;

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
    if (role === undefined || abilities === undefined || y === undefined || sid === undefined)
      return protocolError('malformed pake message');
    return { type: 'pake', sid, role, abilities, y } as Extract<HandshakeMessage, { type: T }>;
  }
  const mac = asBytes(o.mac, { exact: MAC_BYTES });
  if (mac === undefined) return protocolError('malformed confirm message');
  return { type: 'confirm', mac } as Extract<HandshakeMessage, { type: T }>;
}

/** Exact JSON of a sealed message (fixed key order, so golden tests can pin the bytes; a body as given). */
export function encodeSealed(msg: SealedMessage): Uint8Array {
  if (msg.type === 'signal') return utf8(JSON.stringify({ type: msg.type, topic: msg.topic, body: msg.body }));
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
      if (accept === true) {
        if (o.resume === undefined) return { type: 'answer', accept };
        const resume = parseResumeClaim(o.resume);
        return resume === undefined ? protocolError('malformed answer message') : { type: 'answer', accept, resume };
      }
      const reason = o.reason === undefined ? 'REJECTED' : o.reason;
      if (accept === false && (reason === 'REJECTED' || reason === 'FILE_EXISTS' || reason === 'DISK_FULL')) {
        return { type: 'answer', accept, reason };
      }
      return protocolError('malformed answer message');
    }
    case 'resume': {
      const bytes = asInteger(o.bytes, 0, Number.MAX_SAFE_INTEGER);
      return bytes === undefined ? protocolError('malformed resume message') : { type: 'resume', bytes };
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
      const topic = asString(o.topic, 32);
      if (topic === undefined || !TOPIC.test(topic) || o.body === undefined)
        return protocolError('malformed signal message');
      if (JSON.stringify(o.body).length > MAX_SIGNAL_BODY_BYTES) return protocolError('signal body too large');
      return { type: 'signal', topic, body: o.body };
    }
    default:
      return protocolError(`unknown message type ${describeType(o.type)}`);
  }
}

function parseResumeClaim(value: unknown): ResumeClaim | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  // A claim of nothing is no claim: a receiver with no prefix leaves `resume` out.
  const bytes = asInteger(o.bytes, 1, Number.MAX_SAFE_INTEGER);
  const sha256 = asHex(o.sha256, 64);
  return bytes === undefined || sha256 === undefined ? undefined : { bytes, sha256 };
}

/** Names an untrusted `type` field for an error message without echoing arbitrary text. */
function describeType(type: unknown): string {
  const s = asString(type, 32);
  return s !== undefined && /^[a-z-]+$/.test(s) ? `'${s}'` : 'an invalid type';
}
