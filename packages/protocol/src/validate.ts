/**
 * Tiny field validators for parsers of network input. Each returns the value or undefined; parsers turn
 * undefined into a typed error naming the field. Nothing here throws.
 */
import { fromBase64Url } from './bytes.js';

export type Json = Record<string, unknown>;

export function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/** JSON.parse that reports failure as undefined and accepts only objects. */
export function parseJsonObject(text: string): Json | undefined {
  try {
    return asObject(JSON.parse(text));
  } catch {
    return undefined;
  }
}

export function asString(value: unknown, maxLength: number): string | undefined {
  return typeof value === 'string' && value.length <= maxLength ? value : undefined;
}

export function asInteger(value: unknown, min: number, max: number): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
}

export function asBoolean(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

/** base64url bytes of an exact length (or up to maxLength when exact is omitted). */
export function asBytes(value: unknown, opts: { exact?: number; max?: number }): Uint8Array | undefined {
  const max = opts.exact ?? opts.max ?? 0;
  if (typeof value !== 'string' || value.length > Math.ceil((max * 4) / 3) + 4) return undefined;
  const bytes = fromBase64Url(value);
  if (bytes === undefined) return undefined;
  if (opts.exact !== undefined && bytes.length !== opts.exact) return undefined;
  if (bytes.length > max) return undefined;
  return bytes;
}

/** A list of short strings, e.g. ability names. */
export function asStringList(value: unknown, maxItems: number, maxLength: number): string[] | undefined {
  if (!Array.isArray(value) || value.length > maxItems) return undefined;
  const out: string[] = [];
  for (const item of value) {
    const s = asString(item, maxLength);
    if (s === undefined) return undefined;
    out.push(s);
  }
  return out;
}

export function asHex(value: unknown, length: number): string | undefined {
  return typeof value === 'string' && value.length === length && /^[0-9a-f]+$/.test(value) ? value : undefined;
}
