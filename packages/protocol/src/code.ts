/**
 * Pickup codes: `<nameplate>-<secret>`, shown as `7-H7K-29A`.
 *
 * - The nameplate is a decimal number the relay allocates; it is public and used only for rendezvous.
 * - The secret is Crockford base32 (no I, L, O, U), 5 bits a symbol, drawn from a CSPRNG on the sending side.
 *   Six symbols (the default) give 30 bits: an attacker who gets one online guess per code succeeds with
 *   probability 2^-30 ≈ 1 in 10^9. The secret never goes to the relay, and the nameplate is never derived from it.
 */
import { createError, type PortunusError } from './errors.js';
import type { RandomBytes } from './bytes.js';

export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const DEFAULT_SECRET_LENGTH = 6;
export const MIN_SECRET_LENGTH = 6;
export const MAX_SECRET_LENGTH = 26;
/** Nameplates are small numbers; anything longer is a typo (and would make absurd relay claims). */
export const MAX_NAMEPLATE = 999_999;
/** Symbols per displayed group: `H7K-29A`. */
const GROUP = 3;
/** Scheme of the URI carried in the QR code: `portunus:7-H7K-29A`. */
export const CODE_URI_SCHEME = 'portunus:';

export interface Code {
  readonly nameplate: number;
  /** Upper-case Crockford symbols, no separators. */
  readonly secret: string;
}

/**
 * The default secret for a code that admits `guesses` online guesses (`send --count N`: one key exchange per
 * receiver, PROTOCOL.md §8.3): DEFAULT_SECRET_LENGTH plus ⌈log2(guesses) / 5⌉ symbols, so the success chance,
 * at most guesses · 2^-5n, stays at or below the single code's 2^-30 (7 symbols for 2 … 32 guesses).
 */
export function secretLengthFor(guesses: number): number {
  return DEFAULT_SECRET_LENGTH + Math.ceil(Math.log2(Math.max(1, guesses)) / 5);
}

/** Draws a secret of `length` symbols. Uniform: 256 is a multiple of 32, so `byte & 31` has no bias. */
export function generateSecret(random: RandomBytes, length = DEFAULT_SECRET_LENGTH): string {
  if (!Number.isInteger(length) || length < MIN_SECRET_LENGTH || length > MAX_SECRET_LENGTH) {
    throw createError('USAGE', `secret length must be ${MIN_SECRET_LENGTH}..${MAX_SECRET_LENGTH} symbols`);
  }
  const bytes = random(length);
  let out = '';
  for (let i = 0; i < length; i++) out += CROCKFORD_ALPHABET[bytes[i]! & 31]!;
  return out;
}

/** Display form with groups of three: `7-H7K-29A`. */
export function formatCode(code: Code): string {
  const groups: string[] = [];
  for (let i = 0; i < code.secret.length; i += GROUP) groups.push(code.secret.slice(i, i + GROUP));
  return `${code.nameplate}-${groups.join('-')}`;
}

/** Canonical form fed to CPace as PRS: `7-H7K29A`. Two spellings of one code always normalize alike. */
export function normalizeCode(code: Code): string {
  return `${code.nameplate}-${code.secret}`;
}

export function codeUri(code: Code): string {
  return CODE_URI_SCHEME + formatCode(code);
}

const SEPARATORS = /[\s_-]/;

/** Crockford's decoding rules: case-insensitive, O→0, I and L→1. Returns undefined for anything else. */
function foldSymbol(ch: string): string | undefined {
  const up = ch.toUpperCase();
  if (up === 'O') return '0';
  if (up === 'I' || up === 'L') return '1';
  return CROCKFORD_ALPHABET.includes(up) && up.length === 1 ? up : undefined;
}

function badCode(message: string): PortunusError {
  return createError('BAD_CODE', message);
}

/**
 * Parses what a person typed. Forgiving about spelling (case, separators, O/I/L) and exact about content: every
 * other character, a missing nameplate or a wrong length is a BAD_CODE error saying what is wrong. Never throws.
 */
export function parseCode(input: string): Code | PortunusError {
  let text = input.trim();
  if (text.toLowerCase().startsWith(CODE_URI_SCHEME)) text = text.slice(CODE_URI_SCHEME.length);
  if (text === '') return badCode('the code is empty');

  const digits = /^[0-9]+/.exec(text)?.[0];
  if (digits === undefined) return badCode('a code starts with a number, like 7-H7K-29A');
  const nameplate = Number(digits);
  if (digits.length > String(MAX_NAMEPLATE).length || nameplate < 1 || nameplate > MAX_NAMEPLATE) {
    return badCode(`the number at the start of the code must be between 1 and ${MAX_NAMEPLATE}`);
  }
  const rest = text.slice(digits.length);
  // The separator after the nameplate is required: secrets may start with a digit.
  if (rest === '' || !SEPARATORS.test(rest[0]!)) {
    return badCode('the number must be followed by a dash and the secret, like 7-H7K-29A');
  }

  let secret = '';
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i]!;
    if (SEPARATORS.test(ch)) continue;
    const sym = foldSymbol(ch);
    if (sym === undefined) {
      const shown = /^[\x21-\x7e]$/.test(ch)
        ? `'${ch}'`
        : `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
      return badCode(`the code contains ${shown}, which is not part of any code (codes use 0-9 and A-Z without U)`);
    }
    secret += sym;
  }
  if (secret.length < MIN_SECRET_LENGTH) {
    return badCode(`the secret part is too short: ${secret.length} of at least ${MIN_SECRET_LENGTH} characters`);
  }
  if (secret.length > MAX_SECRET_LENGTH) {
    return badCode(`the secret part is too long: ${secret.length} characters, at most ${MAX_SECRET_LENGTH}`);
  }
  return { nameplate, secret };
}
