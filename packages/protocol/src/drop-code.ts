/**
 * Drop codes (PROTOCOL.md §11.1): `D-` and 28 Crockford base32 symbols, shown in groups of four
 * (`D-7KQ2-M9XD-…`, seven groups). A stored drop cannot rely on a PAKE — whoever holds the ciphertext could try
 * every short code offline — so the whole secret is in the code: 28 symbols of 5 bits = 140 bits from a CSPRNG.
 * Parsing folds case, O, I and L as pickup codes do (code.ts); the leading `D` tells a drop code from a pickup code,
 * which always starts with a decimal nameplate.
 */
import { CODE_URI_SCHEME, CROCKFORD_ALPHABET } from './code.js';
import type { RandomBytes } from './bytes.js';
import { createError, type PortunusError } from './errors.js';

export const DROP_CODE_PREFIX = 'D-';
/** Symbols of a drop secret: 140 bits. */
export const DROP_SECRET_SYMBOLS = 28;
/** Symbols per displayed group. */
const GROUP = 4;
const SEPARATORS = /[\s_-]/;

export interface DropCode {
  /** 28 upper-case Crockford symbols, no separators. */
  readonly secret: string;
}

/** Draws a drop secret. Uniform: 256 is a multiple of 32, so `byte & 31` has no bias. */
export function generateDropCode(random: RandomBytes): DropCode {
  const bytes = random(DROP_SECRET_SYMBOLS);
  let secret = '';
  for (let i = 0; i < DROP_SECRET_SYMBOLS; i++) secret += CROCKFORD_ALPHABET[bytes[i]! & 31]!;
  return { secret };
}

/** Display form: `D-7KQ2-M9XD-…` (seven groups of four). */
export function formatDropCode(code: DropCode): string {
  const groups: string[] = [];
  for (let i = 0; i < code.secret.length; i += GROUP) groups.push(code.secret.slice(i, i + GROUP));
  return DROP_CODE_PREFIX + groups.join('-');
}

/** Canonical form, the HKDF input of the drop id and key (drop-keys.ts): `D-` and the 28 symbols, unseparated. */
export function normalizeDropCode(code: DropCode): string {
  return DROP_CODE_PREFIX + code.secret;
}

/** What a QR code carries when there is no link: `portunus:D-…`. */
export function dropCodeUri(code: DropCode): string {
  return CODE_URI_SCHEME + formatDropCode(code);
}

function withoutScheme(input: string): string {
  const text = input.trim();
  return text.toLowerCase().startsWith(CODE_URI_SCHEME) ? text.slice(CODE_URI_SCHEME.length) : text;
}

/** Whether `input` is meant as a drop code (a `D` and a separator, after an optional `portunus:`), valid or not. */
export function looksLikeDropCode(input: string): boolean {
  const text = withoutScheme(input);
  return /^[dD]/.test(text) && text.length > 1 && SEPARATORS.test(text[1]!);
}

/** Parses a drop code as typed or scanned: forgiving about spelling, exact about content. Never throws. */
export function parseDropCode(input: string): DropCode | PortunusError {
  const text = withoutScheme(input);
  if (!looksLikeDropCode(text)) return badCode('a drop code starts with D-, like D-7KQ2-M9XD-…');
  let secret = '';
  for (const ch of text.slice(2)) {
    if (SEPARATORS.test(ch)) continue;
    const up = ch.toUpperCase();
    const sym = up === 'O' ? '0' : up === 'I' || up === 'L' ? '1' : up;
    if (sym.length !== 1 || !CROCKFORD_ALPHABET.includes(sym)) {
      const shown = /^[\x21-\x7e]$/.test(ch)
        ? `'${ch}'`
        : `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
      return badCode(
        `the drop code contains ${shown}, which is not part of any code (codes use 0-9 and A-Z without U)`,
      );
    }
    secret += sym;
  }
  if (secret.length !== DROP_SECRET_SYMBOLS) {
    return badCode(`a drop code has ${DROP_SECRET_SYMBOLS} characters after D-, this one ${secret.length}`);
  }
  return { secret };
}

function badCode(message: string): PortunusError {
  return createError('BAD_CODE', message);
}
