/**
 * The relay's control messages (JSON in WebSocket text frames), split by direction. See PROTOCOL.md §2.
 *
 * Parsers take untrusted text, validate every field they use and return a typed message or a `ParseError`; they
 * never throw. Unknown fields are ignored (so either side may add fields); an unknown `type` is reported as its own
 * reason so a client can skip messages from a newer relay while the relay rejects anything it does not know.
 * The encoders are in relay-encode.ts.
 */
import { isErrorCode, type ErrorCode } from './errors.js';
import { asBoolean, asInteger, asObject, asString, type Json } from './validate.js';
import { fromBase64Url } from './bytes.js';
import type { Side } from './keys.js';
import { parseIceServers, type IceServer } from './ice-server.js';

/** Bytes of the relay-chosen session id carried by `paired` (bound into the PAKE). */
export const SID_BYTES = 16;
/** Longest `agent` and relay name: short printable ASCII, safe to log and to show. */
export const MAX_RELAY_NAME_LENGTH = 64;
export const MAX_MOTD_LENGTH = 512;
/** Error texts from the relay are cut to this length before anyone shows them. */
export const MAX_ERROR_MESSAGE_LENGTH = 200;
/**
 * The bound on a client's `ping` messages (PROTOCOL.md §2.8): a bucket of PING_BURST pings, refilled by one every
 * PING_REFILL_MS. A client that sends one more is closed with RELAY_PROTOCOL. A keepalive needs far less: one
 * every few seconds.
 */
export const PING_BURST = 10;
export const PING_REFILL_MS = 1000;
/**
 * Bytes of a reconnect id (PROTOCOL.md §2.13): HKDF output of the session key (label `reconnect id`), so both peers
 * of a session present the same one and nobody without the key can compute it.
 */
export const RECONNECT_ID_BYTES = 32;
/**
 * Seats of one nameplate (PROTOCOL.md §2.4 "Seats"): `send --count N` serves up to MAX_SEATS receivers under one code,
 * each in a room of its own. The allocator gets a SEAT_TOKEN_BYTES token with which its other connections `join`.
 */
export const MAX_SEATS = 20;
export const SEAT_TOKEN_BYTES = 16;

export type ClientToRelay =
  | { type: 'hello'; protocol: number; agent: string }
  /** `seats` (2…MAX_SEATS; absent means 1): the nameplate takes that many claimers, each in a room of its own. */
  | { type: 'allocate'; seats?: number }
  | { type: 'claim'; nameplate: number }
  /** Another seat of an allocation with seats: waits as side a, like the allocating connection (`token`: base64url). */
  | { type: 'join'; nameplate: number; token: string }
  /** Instead of allocate/claim: meet the peer of a confirmed session again (`id`: base64url, RECONNECT_ID_BYTES). */
  | { type: 'reconnect'; id: string }
  | { type: 'msg'; body: string }
  | { type: 'pipe' }
  | { type: 'burn' }
  | { type: 'done'; ok: boolean }
  /** App-level keepalive for clients that cannot send WebSocket pings (browsers): answered with `pong`. */
  | { type: 'ping' };

export type RelayToClient =
  /** `page: true` when the relay serves the web page at `/` on its port (absent otherwise). */
  | { type: 'welcome'; protocol: number; relay: string; motd?: string; page?: true }
  /** `token`: only for an allocation with seats; its other connections `join` with it. */
  | { type: 'allocated'; nameplate: number; token?: string }
  | { type: 'claimed'; nameplate: number; side: Side }
  | { type: 'paired'; sid: Uint8Array; side: Side; ice?: IceServer[] }
  /** Both connections presented the same reconnect id: they are paired again, `sid` fresh (a nonce of the relay's). */
  | { type: 'reconnected'; sid: Uint8Array }
  | { type: 'msg'; body: string }
  | { type: 'pipe-open' }
  /** Side b left before the key exchange completed: side a keeps its nameplate and waits for a new `paired`. */
  | { type: 'unpaired' }
  /** `lost`: the peer's connection ended without its closing handshake (it may come back with `reconnect`). */
  | { type: 'peer-left'; lost?: true }
  /** The answer to a client's `ping`. */
  | { type: 'pong' }
  | { type: 'error'; code: ErrorCode; message: string };

export type ParseErrorReason = 'invalid-json' | 'not-object' | 'unknown-type' | 'invalid-field';

/** Why a text frame was rejected. `detail` never quotes the input, so it is safe to log and to send back. */
export interface ParseError {
  readonly type: 'parse-error';
  readonly reason: ParseErrorReason;
  readonly detail: string;
}

function parseError(reason: ParseErrorReason, detail: string): ParseError {
  return { type: 'parse-error', reason, detail };
}

function invalidField(type: string, field: string): ParseError {
  return parseError('invalid-field', `invalid ${type}.${field}`);
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_CHARS_GLOBAL = /[\u0000-\u001f\u007f-\u009f]/g;
const BASE64URL_CHARS = /^[A-Za-z0-9_-]*$/;

function asName(value: unknown): string | undefined {
  const s = asString(value, MAX_RELAY_NAME_LENGTH);
  return s !== undefined && s.length > 0 && PRINTABLE_ASCII.test(s) ? s : undefined;
}

/**
 * Canonical unpadded base64url, checked without decoding (the relay forwards bodies it never needs to read).
 * Canonical means: no padding, no length ≡ 1 (mod 4), and zero stray bits in the last character.
 */
export function isBase64Url(text: string): boolean {
  const rest = text.length % 4;
  if (rest === 1 || !BASE64URL_CHARS.test(text)) return false;
  if (rest === 0) return true;
  const c = text.charCodeAt(text.length - 1);
  const v = c >= 97 ? c - 71 : c >= 65 ? c - 65 : c >= 48 && c <= 57 ? c + 4 : c === 45 ? 62 : 63;
  return (v & (rest === 2 ? 0x0f : 0x03)) === 0;
}

function asBody(value: unknown): string | undefined {
  return typeof value === 'string' && isBase64Url(value) ? value : undefined;
}

/** A reconnect id: canonical base64url of exactly RECONNECT_ID_BYTES (kept as text: the relay only compares it). */
function asReconnectId(value: unknown): string | undefined {
  const text = asBody(value);
  return text !== undefined && text.length === Math.ceil((RECONNECT_ID_BYTES * 4) / 3) ? text : undefined;
}

/** A seat token: canonical base64url of exactly SEAT_TOKEN_BYTES (kept as text: the relay only compares it). */
function asSeatToken(value: unknown): string | undefined {
  const text = asBody(value);
  return text !== undefined && text.length === Math.ceil((SEAT_TOKEN_BYTES * 4) / 3) ? text : undefined;
}

function asSid(value: unknown): Uint8Array | undefined {
  const sid = typeof value === 'string' && value.length <= 32 ? fromBase64Url(value) : undefined;
  return sid?.length === SID_BYTES ? sid : undefined;
}

function asSide(value: unknown): Side | undefined {
  return value === 'a' || value === 'b' ? value : undefined;
}

/** Names an untrusted `type` for an error detail without echoing arbitrary text. */
function describeType(type: unknown): string {
  return typeof type === 'string' && /^[a-z-]{1,32}$/.test(type) ? `'${type}'` : 'an invalid type';
}

/** Returns the parsed object, or a ParseError (wrapped, so a wire object can never pose as one). */
function parseObject(text: string): { o: Json } | ParseError {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return parseError('invalid-json', 'not valid JSON');
  }
  const o = asObject(value);
  return o === undefined ? parseError('not-object', 'not a JSON object') : { o };
}

/** Parses one client→relay text frame. The caller bounds the frame's size before calling. */
export function parseClientMessage(text: string): ClientToRelay | ParseError {
  const parsed = typeof text === 'string' ? parseObject(text) : parseError('invalid-json', 'not text');
  if ('type' in parsed) return parsed;
  const o = parsed.o;
  const type = Object.hasOwn(o, 'type') ? o.type : undefined;
  switch (type) {
    case 'hello': {
      const protocol = asInteger(o.protocol, 0, Number.MAX_SAFE_INTEGER);
      if (protocol === undefined) return invalidField(type, 'protocol');
      const agent = asName(o.agent);
      if (agent === undefined) return invalidField(type, 'agent');
      return { type, protocol, agent };
    }
    case 'claim': {
      const nameplate = asInteger(o.nameplate, 1, Number.MAX_SAFE_INTEGER);
      return nameplate === undefined ? invalidField(type, 'nameplate') : { type, nameplate };
    }
    case 'allocate': {
      if (o.seats === undefined) return { type };
      const seats = asInteger(o.seats, 1, MAX_SEATS);
      if (seats === undefined) return invalidField(type, 'seats');
      return seats === 1 ? { type } : { type, seats };
    }
    case 'join': {
      const nameplate = asInteger(o.nameplate, 1, Number.MAX_SAFE_INTEGER);
      if (nameplate === undefined) return invalidField(type, 'nameplate');
      const token = asSeatToken(o.token);
      return token === undefined ? invalidField(type, 'token') : { type, nameplate, token };
    }
    case 'reconnect': {
      const id = asReconnectId(o.id);
      return id === undefined ? invalidField(type, 'id') : { type, id };
    }
    case 'msg': {
      const body = asBody(o.body);
      return body === undefined ? invalidField(type, 'body') : { type, body };
    }
    case 'done': {
      const ok = asBoolean(o.ok);
      return ok === undefined ? invalidField(type, 'ok') : { type, ok };
    }
    case 'pipe':
    case 'burn':
    case 'ping':
      return { type };
    default:
      return parseError('unknown-type', `unknown message type ${describeType(type)}`);
  }
}

/** Parses one relay→client text frame. Error texts are cut and stripped of control characters for display. */
export function parseRelayMessage(text: string): RelayToClient | ParseError {
  const parsed = typeof text === 'string' ? parseObject(text) : parseError('invalid-json', 'not text');
  if ('type' in parsed) return parsed;
  const o = parsed.o;
  const type = Object.hasOwn(o, 'type') ? o.type : undefined;
  switch (type) {
    case 'welcome':
      return parseWelcome(o);
    case 'allocated': {
      const nameplate = asInteger(o.nameplate, 1, Number.MAX_SAFE_INTEGER);
      if (nameplate === undefined) return invalidField(type, 'nameplate');
      if (o.token === undefined) return { type, nameplate };
      const token = asSeatToken(o.token);
      return token === undefined ? invalidField(type, 'token') : { type, nameplate, token };
    }
    case 'claimed': {
      const nameplate = asInteger(o.nameplate, 1, Number.MAX_SAFE_INTEGER);
      if (nameplate === undefined) return invalidField(type, 'nameplate');
      const side = asSide(o.side);
      return side === undefined ? invalidField(type, 'side') : { type, nameplate, side };
    }
    case 'paired': {
      const sid = asSid(o.sid);
      if (sid === undefined) return invalidField(type, 'sid');
      const side = asSide(o.side);
      if (side === undefined) return invalidField(type, 'side');
      if (o.ice === undefined) return { type, sid, side };
      const ice = parseIceServers(o.ice);
      return ice === undefined ? invalidField(type, 'ice') : { type, sid, side, ice };
    }
    case 'msg': {
      const body = asBody(o.body);
      return body === undefined ? invalidField(type, 'body') : { type, body };
    }
    case 'reconnected': {
      const sid = asSid(o.sid);
      return sid === undefined ? invalidField(type, 'sid') : { type, sid };
    }
    case 'peer-left': {
      const lost = o.lost === undefined ? false : asBoolean(o.lost);
      if (lost === undefined) return invalidField(type, 'lost');
      return lost ? { type, lost } : { type };
    }
    case 'pipe-open':
    case 'unpaired':
    case 'pong':
      return { type };
    case 'error': {
      // A code this client does not know comes from a newer relay: report it as a protocol mismatch.
      const code = isErrorCode(o.code) ? o.code : 'RELAY_PROTOCOL';
      const raw = typeof o.message === 'string' ? o.message.slice(0, MAX_ERROR_MESSAGE_LENGTH) : '';
      return { type, code, message: raw.replace(CONTROL_CHARS_GLOBAL, '?') };
    }
    default:
      return parseError('unknown-type', `unknown message type ${describeType(type)}`);
  }
}

function parseWelcome(o: Json): RelayToClient | ParseError {
  const protocol = asInteger(o.protocol, 0, Number.MAX_SAFE_INTEGER);
  if (protocol === undefined) return invalidField('welcome', 'protocol');
  const relay = asName(o.relay);
  if (relay === undefined) return invalidField('welcome', 'relay');
  const motd = o.motd === undefined ? undefined : asString(o.motd, MAX_MOTD_LENGTH);
  if (o.motd !== undefined && (motd === undefined || CONTROL_CHARS.test(motd))) return invalidField('welcome', 'motd');
  const page = o.page === undefined ? false : asBoolean(o.page);
  if (page === undefined) return invalidField('welcome', 'page');
  return {
    type: 'welcome',
    protocol,
    relay,
    ...(motd === undefined ? {} : { motd }),
    ...(page ? { page: true as const } : {}),
  };
}

export function isParseError(value: ClientToRelay | RelayToClient | ParseError): value is ParseError {
  return value.type === 'parse-error';
}
