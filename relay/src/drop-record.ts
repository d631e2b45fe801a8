/**
 * What the relay keeps about one drop besides its bytes (PROTOCOL.md §11.4): sizes, times, download slots and open
 * leases, and hashes of its tokens (never the tokens). Records are JSON, written whole (temp file + rename, or one
 * S3 PUT), and checked field by field when read back, so a damaged record is reported and skipped, never trusted.
 */

import { createHash, timingSafeEqual } from 'node:crypto';

/** A drop id as the contract gives it: 32 lowercase hex characters (HKDF output, PROTOCOL.md §11.1). */
export const DROP_ID = /^[0-9a-f]{32}$/;
/** Upload tokens and leases: 32 lowercase hex characters (16 random bytes). */
export const DROP_TOKEN = /^[0-9a-f]{32}$/;

export interface DropLease {
  /** SHA-256 of the lease token, hex. */
  hash: string;
  /** Last request made with it (ms); it ends LEASE_IDLE_MS later. */
  seenAt: number;
}

export interface DropRecord {
  id: string;
  /** Stored bytes, as the upload announced them (Upload-Length). */
  length: number;
  createdAt: number;
  /** The drop is deleted at this time (ms), whatever its slots. */
  expiresAt: number;
  /** Download slots the sender asked for. */
  downloads: number;
  /** Slots taken so far. */
  used: number;
  /** Every byte arrived (offset = length). */
  complete: boolean;
  /** Creation or the last PATCH: an incomplete upload is dropped UPLOAD_IDLE_MS after it. */
  uploadSeenAt: number;
  /** Limit key of the address that created it (address.ts addressKey), for the per-address quotas. */
  address: string;
  /** SHA-256 of the upload token, hex. */
  tokenHash: string;
  leases: DropLease[];
  /** The bytes are deleted (every slot used); the record stays until expiry, so late receivers hear DROP_GONE. */
  gone: boolean;
}

/** An incomplete upload without a PATCH for this long is deleted. */
export const UPLOAD_IDLE_MS = 3600_000;
/** A lease without a request for this long ends. */
export const LEASE_IDLE_MS = 3600_000;
/** Most download slots a drop may ask for. */
export const MAX_DOWNLOADS = 100;
/** Records kept at once, tombstones included (each is small, but the map must stay bounded). */
export const MAX_RECORDS = 100_000;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Compares two hashes in constant time. */
export function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function isCount(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

function isHash(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}

function parseLeases(value: unknown): DropLease[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_DOWNLOADS) return undefined;
  const leases: DropLease[] = [];
  for (const entry of value as unknown[]) {
    const { hash, seenAt } = (entry ?? {}) as Record<string, unknown>;
    if (!isHash(hash) || !isCount(seenAt, 0)) return undefined;
    leases.push({ hash, seenAt });
  }
  return leases;
}

/** Reads a stored record back; undefined when any field is missing or out of range. */
export function parseDropRecord(text: string): DropRecord | undefined {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { id, length, createdAt, expiresAt, downloads, used, complete, uploadSeenAt, address, tokenHash, gone } = value;
  const leases = parseLeases(value.leases);
  const valid =
    typeof id === 'string' &&
    DROP_ID.test(id) &&
    isCount(length, 1) &&
    isCount(createdAt, 0) &&
    isCount(expiresAt, 0) &&
    isCount(downloads, 1) &&
    downloads <= MAX_DOWNLOADS &&
    isCount(used, 0) &&
    used <= downloads &&
    typeof complete === 'boolean' &&
    isCount(uploadSeenAt, 0) &&
    typeof address === 'string' &&
    address.length <= 100 &&
    isHash(tokenHash) &&
    typeof gone === 'boolean' &&
    leases !== undefined;
  if (!valid) return undefined;
  return {
    id,
    length,
    createdAt,
    expiresAt,
    downloads,
    used,
    complete,
    uploadSeenAt,
    address,
    tokenHash,
    leases,
    gone,
  };
}

export function serializeDropRecord(record: DropRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** The record of a drop just created, whose upload token hashes to `tokenHash`. */
export function newDropRecord(
  drop: { id: string; length: number; expiresMs: number; downloads: number; address: string },
  now: number,
  tokenHash: string,
): DropRecord {
  return {
    id: drop.id,
    length: drop.length,
    createdAt: now,
    expiresAt: now + drop.expiresMs,
    downloads: drop.downloads,
    used: 0,
    complete: false,
    uploadSeenAt: now,
    address: drop.address,
    tokenHash,
    leases: [],
    gone: false,
  };
}
