/**
 * What the sender offers, sent sealed after key confirmation. The receiver shows it (sanitized) and decides.
 * Sizes are exact byte counts of the data stream that follows, except for `stream` (stdin), whose length is unknown.
 */
import { createError, type PortunusError } from './errors.js';
import { asInteger, asObject, asString } from './validate.js';

/** Text messages travel inline in the offer; anything longer should be sent as a file. */
export const MAX_TEXT_BYTES = 64 * 1024;
export const MAX_NAME_LENGTH = 255;
/** 2^53 - 1: sizes beyond this are not representable exactly, and no real file is that big. */
const MAX_SIZE = Number.MAX_SAFE_INTEGER;
/** Top-level entries of one bundle: a shell glob's worth; 1,000 names of 255 bytes fit a sealed message. */
export const MAX_BUNDLE_ENTRIES = 1000;

/** One top-level entry of a bundle: a file, or a folder with everything below it. */
export interface BundleEntry {
  name: string;
  type: 'file' | 'folder';
}

export type Offer =
  | { kind: 'file'; name: string; size: number; mode?: number }
  | { kind: 'folder'; name: string; size: number; files: number; bytes: number }
  | { kind: 'bundle'; entries: BundleEntry[]; size: number; files: number; bytes: number }
  | { kind: 'stream'; name: string }
  | { kind: 'text'; text: string };

function bad(field: string): PortunusError {
  return createError('PROTOCOL', `invalid offer: bad ${field}`);
}

/** Validates an offer from the network: every field typed and in range; unknown fields dropped. */
export function parseOffer(value: unknown): Offer | PortunusError {
  const o = asObject(value);
  if (o === undefined) return bad('shape');
  const name = asString(o.name, MAX_NAME_LENGTH);
  switch (o.kind) {
    case 'file': {
      const size = asInteger(o.size, 0, MAX_SIZE);
      if (name === undefined || name === '') return bad('name');
      if (size === undefined) return bad('size');
      if (o.mode === undefined) return { kind: 'file', name, size };
      // Only permission bits travel; setuid, setgid and sticky never do.
      const mode = asInteger(o.mode, 0, 0o777);
      if (mode === undefined) return bad('mode');
      return { kind: 'file', name, size, mode };
    }
    case 'folder': {
      const size = asInteger(o.size, 0, MAX_SIZE);
      const files = asInteger(o.files, 0, MAX_SIZE);
      const bytes = asInteger(o.bytes, 0, MAX_SIZE);
      if (name === undefined || name === '') return bad('name');
      if (size === undefined) return bad('size');
      if (files === undefined) return bad('files');
      if (bytes === undefined || bytes > size) return bad('bytes');
      return { kind: 'folder', name, size, files, bytes };
    }
    case 'bundle':
      return parseBundle(o);
    case 'stream':
      if (name === undefined || name === '') return bad('name');
      return { kind: 'stream', name };
    case 'text': {
      const text = asString(o.text, MAX_TEXT_BYTES);
      if (text === undefined || new TextEncoder().encode(text).length > MAX_TEXT_BYTES) return bad('text');
      return { kind: 'text', text };
    }
    default:
      return bad('kind');
  }
}

/** Several files and folders in one tar stream (`portunus send a.txt photos/`): at least two, distinct names. */
function parseBundle(o: Record<string, unknown>): Offer | PortunusError {
  const size = asInteger(o.size, 0, MAX_SIZE);
  const files = asInteger(o.files, 0, MAX_SIZE);
  const bytes = asInteger(o.bytes, 0, MAX_SIZE);
  if (size === undefined) return bad('size');
  if (files === undefined) return bad('files');
  if (bytes === undefined || bytes > size) return bad('bytes');
  if (!Array.isArray(o.entries) || o.entries.length < 2 || o.entries.length > MAX_BUNDLE_ENTRIES) {
    return bad('entries');
  }
  const entries: BundleEntry[] = [];
  const names = new Set<string>();
  for (const item of o.entries as unknown[]) {
    const e = asObject(item);
    const name = asString(e?.name, MAX_NAME_LENGTH);
    if (name === undefined || name === '' || names.has(name)) return bad('entries');
    if (e?.type !== 'file' && e?.type !== 'folder') return bad('entries');
    names.add(name);
    entries.push({ name, type: e.type });
  }
  if (entries.filter((e) => e.type === 'file').length > files) return bad('files');
  return { kind: 'bundle', entries, size, files, bytes };
}

/** Whether a data stream follows the offer (text travels inline). */
export function offerHasData(offer: Offer): boolean {
  return offer.kind !== 'text';
}

/** Exact byte count of the data stream, when known in advance. */
export function offerSize(offer: Offer): number | undefined {
  return offer.kind === 'stream' ? undefined : offer.kind === 'text' ? 0 : offer.size;
}
