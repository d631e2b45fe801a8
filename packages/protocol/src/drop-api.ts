/**
 * The client side of the relay's drop API (PROTOCOL.md §11.3), sans IO: what a request carries and how an answer is
 * read and checked, shared by the CLI's client (undici) and the page's (fetch). Every value from the relay is checked
 * here before use; what does not fit the contract is RELAY_PROTOCOL, a refusal the relay named keeps its code.
 */
import { createError, isErrorCode, type PortunusError } from './errors.js';

export const TUS_VERSION = '1.0.0';
/** The most downloads a drop may ask for (§11.3); a relay may allow fewer. */
export const MAX_DROP_DOWNLOADS = 100;

export interface DropLimits {
  maxBytes: number;
  maxExpirySeconds: number;
  maxDownloads: number;
}

/** Reads one response header by its lower-case name (undici's headers or fetch's Headers behind it). */
export type HeaderOf = (name: string) => string | undefined;

/** A download's answer, as its headers tell it. */
export interface DropDownloadHead {
  /** Bytes in the body. */
  length: number;
  /** Present on a fresh download: the lease that resumes it without taking another download. */
  lease?: string;
  downloadsLeft?: number;
  /** Unix seconds. */
  expires?: number;
}

const TOKEN = /^[0-9a-f]{32}$/;

const count = (v: unknown): number | undefined =>
  Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined;

/** A header's decimal count: digits only (no sign, space, exponent or hex), a safe integer. */
const decimal = (value: string | undefined): number | undefined =>
  value !== undefined && /^\d{1,16}$/.test(value) ? count(Number(value)) : undefined;

/** The body of `GET /drops`. */
export function parseDropLimits(body: unknown): DropLimits {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Partial<Record<keyof DropLimits, unknown>>;
  const [maxBytes, maxExpirySeconds, maxDownloads] = [b.maxBytes, b.maxExpirySeconds, b.maxDownloads].map(count);
  if (!maxBytes || !maxExpirySeconds || !maxDownloads) {
    throw createError('RELAY_PROTOCOL', 'the relay described its drop limits in a form this client does not know');
  }
  return { maxBytes, maxExpirySeconds, maxDownloads };
}

/** The tus `Upload-Metadata` of a new drop: each key, a space and its value in base64 (the values are ASCII). */
export function dropUploadMetadata(args: { id: string; expires: number; downloads: number }): string {
  const meta = (key: string, value: string) => `${key} ${btoa(value)}`;
  return [meta('id', args.id), meta('expires', String(args.expires)), meta('downloads', String(args.downloads))].join(
    ',',
  );
}

/** The answer to a creation: the upload's path (on `origin`) and the token its HEAD and PATCH need. */
export function parseDropCreated(header: HeaderOf, origin: string): { path: string; token: string } {
  const location = header('location');
  const token = header('portunus-upload-token');
  if (location === undefined || token === undefined || !TOKEN.test(token)) {
    throw createError('RELAY_PROTOCOL', 'the relay created the drop without a Location or an upload token');
  }
  return { path: new URL(location, origin).pathname, token };
}

/** `Upload-Offset` of a HEAD or PATCH answer; at most `length` when it is known. */
export function parseUploadOffset(header: HeaderOf, length = Number.MAX_SAFE_INTEGER): number {
  const offset = decimal(header('upload-offset'));
  if (offset === undefined || offset > length) {
    throw createError('RELAY_PROTOCOL', 'the relay gave no valid Upload-Offset for the drop');
  }
  return offset;
}

/** The headers of a download's answer: status 200 for a fresh one, 206 for a resumed one. */
export function parseDropDownload(status: number, resumed: boolean, header: HeaderOf): DropDownloadHead {
  const length = decimal(header('content-length'));
  if (status !== (resumed ? 206 : 200) || length === undefined) {
    throw createError('RELAY_PROTOCOL', `the relay answered a download with status ${status}`);
  }
  const lease = header('portunus-lease');
  if (lease !== undefined && !TOKEN.test(lease))
    throw createError('RELAY_PROTOCOL', 'the relay sent a malformed lease');
  const left = decimal(header('portunus-downloads-left'));
  const expires = decimal(header('portunus-expires'));
  return {
    length,
    ...(lease === undefined ? {} : { lease }),
    ...(left === undefined ? {} : { downloadsLeft: left }),
    ...(expires === undefined ? {} : { expires }),
  };
}

/** A refusal (status ≥ 400): the relay's code when it named one of ours, else what the status says. */
export function dropRefusal(status: number, code: string | undefined, text: string): PortunusError {
  const line = text.split('\n')[0]!.slice(0, 300);
  const message = line === '' ? `the relay refused (HTTP ${status})` : `the relay refused: ${line}`;
  if (code !== undefined && isErrorCode(code)) return createError(code, message);
  // A relay that predates drops serves no /drops at all: a 404 without our header.
  if (status === 404 && code === undefined) return createError('DROPS_DISABLED', 'the relay does not store drops');
  return createError('RELAY_PROTOCOL', `${message} (${code ?? `HTTP ${status}`})`);
}
