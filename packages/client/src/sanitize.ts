/**
 * Display safety for names and text that come from the network. A file name is attacker-chosen on the receiver:
 * printed raw it could move the cursor, rewrite the window title (OSC) or reorder what is shown (bidi overrides,
 * "Trojan Source", CVE-2021-42574). Everything shown to a person goes through sanitizeForTerminal or
 * quoteForTerminal; names that would be written to disk go through safeComponentName.
 */
import { createError, type PortunusError } from '@portunus/protocol/errors';
import { NOT_PORTABLE_HINT, windowsNameProblem } from './portable-name.js';
import { utf8Length } from './utf8-length.js';

/**
 * ECMA-48 sequences, removed whole so no parameter bytes are left to print: CSI (ESC [ … final, or 8-bit 0x9B),
 * string commands OSC/DCS/SOS/PM/APC (ESC ] P X ^ _, or 8-bit 0x9D 0x90 0x98 0x9E 0x9F) up to BEL or ST (or the end
 * of the text: an unterminated string would swallow the rest on a terminal too), and two-byte ESC sequences.
 */
const ESCAPE_SEQUENCE =
  /\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|(?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])[\s\S]*?(?:\x07|\x1b\\|\x9c|$)|\x1b[ -/]*[0-~]/g;

/**
 * C0 controls, DEL, C1 controls, the bidi embeddings/overrides/isolates (U+202A–U+202E, U+2066–U+2069), the bidi
 * marks (U+061C, U+200E, U+200F) and the Unicode line/paragraph separators.
 */
const UNSAFE_CHAR = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_CHAR_KEEP_LINES = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** Same set, plus lone surrogates (which cannot be encoded as UTF-8 and so cannot name a file faithfully). */
const UNSAFE_NAME_CHAR = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/u;

/** Longest component most file systems accept (NAME_MAX), in UTF-8 bytes. */
export const MAX_COMPONENT_BYTES = 255;

export interface SanitizeOptions {
  /** Keep newlines and tabs (for multi-line text messages). */
  keepNewlines?: boolean;
}

/** Removes escape sequences and every control or bidi character, so the result cannot drive the terminal. */
export function sanitizeForTerminal(s: string, opts: SanitizeOptions = {}): string {
  return s.replace(ESCAPE_SEQUENCE, '').replace(opts.keepNewlines ? UNSAFE_CHAR_KEEP_LINES : UNSAFE_CHAR, '');
}

/** True when a name contains a character that sanitizeForTerminal would remove, or a lone surrogate. */
export function hasUnsafeChars(s: string): boolean {
  return UNSAFE_NAME_CHAR.test(s);
}

/**
 * A name quoted for error messages: unsafe characters are shown as visible escapes (`\u{1b}`) rather than removed,
 * so the user can see that something hostile was there; long names are cut.
 */
export function quoteForTerminal(s: string, maxChars = 120): string {
  let out = '';
  let count = 0;
  for (const ch of s) {
    if (count++ === maxChars) return `"${out}…"`;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (UNSAFE_NAME_CHAR.test(ch)) out += `\\u{${ch.codePointAt(0)!.toString(16)}}`;
    else out += ch;
  }
  return `"${out}"`;
}

const UNSAFE_NAME_HINT = 'The sender offered a name that is unsafe to create here; nothing was written.';

/** Why `name` (one path component) cannot be created as offered, and the hint for it; undefined when it can. */
function nameProblem(name: string): { why: string; hint: string } | undefined {
  const unsafe = (why: string) => ({ why, hint: UNSAFE_NAME_HINT });
  if (name === '' || name === '.' || name === '..') return unsafe('not a file name');
  if (name.includes('/') || name.includes('\\')) return unsafe('it contains a path separator');
  if (hasUnsafeChars(name)) return unsafe('it contains control or bidi characters');
  if (utf8Length(name) > MAX_COMPONENT_BYTES) return unsafe('it is longer than 255 bytes');
  // Also what keeps a drive-relative Windows name ("C:x") from escaping the output folder there: ':' is refused.
  const notPortable = windowsNameProblem(name);
  return notPortable === undefined ? undefined : { why: notPortable, hint: NOT_PORTABLE_HINT };
}

/** Why receivers refuse `name` as a file or folder name, or undefined (for senders, which skip such names). */
export function componentNameProblem(name: string): string | undefined {
  return nameProblem(name)?.why;
}

/**
 * Checks one path component (an offered file or folder name, or one component of a folder entry) and returns it
 * unchanged when safe. Names are rejected rather than rewritten: a file silently saved under another name is
 * a surprise, and a sanitized name could collide with a real one.
 */
export function safeComponentName(name: string): string | PortunusError {
  const problem = nameProblem(name);
  if (problem === undefined) return name;
  return createError('UNSAFE_PATH', `refusing the name ${quoteForTerminal(name)}: ${problem.why}`, {
    hint: problem.hint,
  });
}
