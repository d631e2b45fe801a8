/**
 * Reading a drop creation request (PROTOCOL.md §11.3): `Upload-Length` and the tus `Upload-Metadata` header
 * (`key base64value`, comma-separated: https://tus.io/protocols/resumable-upload#upload-metadata) with `id`,
 * `expires` and `downloads`. Every value is checked here, before anything is stored; unknown keys are ignored.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { DROP_ID, MAX_DOWNLOADS } from './drop-record.js';
import { DropRefusal } from './drop-refusal.js';

/** Longest Upload-Metadata header read. */
const MAX_METADATA_LENGTH = 1024;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const KEY = /^[\x21-\x2b\x2d-\x7e]{1,64}$/;
/** How long a drop is kept when the request does not say. */
export const DEFAULT_EXPIRY_SECONDS = 86_400;

export interface DropRequest {
  id: string;
  length: number;
  expiresSeconds: number;
  downloads: number;
}

function bad(message: string): DropRefusal {
  return new DropRefusal('BAD_REQUEST', message);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? undefined : value;
}

/** Parses tus Upload-Metadata into a map; throws BAD_REQUEST on a malformed or repeated pair. */
export function parseUploadMetadata(text: string): Map<string, string> {
  if (text.length > MAX_METADATA_LENGTH) throw bad('Upload-Metadata is too long');
  const out = new Map<string, string>();
  for (const pair of text.split(',')) {
    const [key = '', value = '', ...rest] = pair.trim().split(' ');
    if (!KEY.test(key) || rest.length > 0 || !BASE64.test(value) || out.has(key))
      throw bad('Upload-Metadata is malformed');
    out.set(key, Buffer.from(value, 'base64').toString('latin1'));
  }
  return out;
}

function count(metadata: Map<string, string>, key: string, fallback: number, max: number): number {
  const text = metadata.get(key);
  if (text === undefined) return fallback;
  const value = /^[1-9]\d{0,9}$/.test(text) ? Number(text) : NaN;
  if (!(value <= max)) throw bad(`${key}: expected a whole number from 1 to ${max}`);
  return value;
}

/** The drop a POST /drops asks for; throws BAD_REQUEST naming the first bad header or value. */
export function parseDropRequest(headers: IncomingHttpHeaders, maxExpirySeconds: number): DropRequest {
  if (header(headers, 'upload-defer-length') !== undefined) throw bad('Upload-Defer-Length is not supported');
  const lengthText = header(headers, 'upload-length') ?? '';
  const length = /^[1-9]\d{0,15}$/.test(lengthText) ? Number(lengthText) : NaN;
  if (!Number.isSafeInteger(length)) throw bad('Upload-Length: expected a size of at least 1 byte');
  const metadata = parseUploadMetadata(header(headers, 'upload-metadata') ?? '');
  const id = metadata.get('id') ?? '';
  if (!DROP_ID.test(id)) throw bad('id: expected 32 lowercase hex characters');
  return {
    id,
    length,
    expiresSeconds: count(metadata, 'expires', Math.min(DEFAULT_EXPIRY_SECONDS, maxExpirySeconds), maxExpirySeconds),
    downloads: count(metadata, 'downloads', 1, MAX_DOWNLOADS),
  };
}

/** `Range: bytes=N-` (the only form downloads resume with); undefined when absent, BAD_REQUEST when another form. */
export function parseRangeStart(headers: IncomingHttpHeaders): number | undefined {
  const range = header(headers, 'range');
  if (range === undefined) return undefined;
  const m = /^bytes=(\d{1,16})-$/.exec(range.trim());
  if (m === null) throw bad('Range: expected bytes=N-');
  return Number(m[1]);
}

/** A header that must be 32 lowercase hex characters when present (upload token, lease). */
export function tokenHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = header(headers, name);
  if (value === undefined) return undefined;
  if (!/^[0-9a-f]{32}$/.test(value)) throw bad(`${name}: expected 32 lowercase hex characters`);
  return value;
}
