/**
 * Names of the temporary files and folders created beside a target. Beside (not in /tmp) so the final rename
 * stays on one file system and is atomic; hidden, and named `.<name>.portunus-<host>-<pid>-<random>.<suffix>` so a
 * leftover is recognisable and its owner known: a later receive removes a `.part` whose owner process is gone
 * (stale-temps.ts).
 */
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { toHex, type RandomBytes } from '@portunus/protocol/bytes';

/**
 * Keeps `.<name>.portunus-<8 hex>-<pid>-<12 hex>.part` within the 255-byte component limit (a pid has at most 10
 * digits).
 */
const MAX_STEM_BYTES = 200;

/** The process that creates a temporary: where its pid means something (as a tag), and the pid. */
export interface TempOwner {
  /**
   * 8 hex digits of SHA-256(host name, and on Linux the pid namespace): fixed length and safe in a file name, and
   * different for two containers that share a host name and a folder but not their pids.
   */
  host: string;
  pid: number;
}

export function currentOwner(): TempOwner {
  return { host: hostTag(hostname(), pidNamespace()), pid: process.pid };
}

export function hostTag(host: string, pidNamespace = ''): string {
  // node:crypto is loaded on first use: `portunus --help` reaches this module but never names a temporary.
  const { createHash } = process.getBuiltinModule('node:crypto');
  return createHash('sha256').update(`${host}\n${pidNamespace}`).digest('hex').slice(0, 8);
}

/** `pid:[4026531836]` on Linux; '' where there is no such thing. */
function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
}

function truncateUtf8(s: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    bytes += Buffer.byteLength(ch, 'utf8');
    if (bytes > maxBytes) break;
    out += ch;
  }
  return out;
}

/** A fresh hidden sibling of `target`: `.<name>.portunus-<host>-<pid>-<random>.<suffix>`. */
export function tempSibling(
  target: string,
  random: RandomBytes,
  suffix: 'part' | 'old' | 'resume',
  owner: TempOwner = currentOwner(),
): string {
  const stem = truncateUtf8(basename(target), MAX_STEM_BYTES);
  return join(dirname(target), `.${stem}.portunus-${owner.host}-${owner.pid}-${toHex(random(6))}.${suffix}`);
}

/**
 * The resume state of a `.part` (resume-state.ts): the same name ending `.resume`. A `.part` with one can still be
 * resumed, so the sweep keeps it.
 */
export function stateOf(part: string): string {
  return part.replace(/\.part$/, '.resume');
}

/** Only what tempSibling makes: the stem may hold anything, the tail is exact. */
const PART_NAME = /^\..*\.portunus-([0-9a-f]{8})-([1-9][0-9]{0,9})-[0-9a-f]{12}\.part$/s;

const STATE_NAME = /^\..*\.portunus-([0-9a-f]{8})-([1-9][0-9]{0,9})-[0-9a-f]{12}\.resume$/s;

/** The owner of a `.part` name made by tempSibling, or undefined for any other name. */
export function partOwner(name: string): TempOwner | undefined {
  return ownerIn(PART_NAME, name);
}

/** The owner of a `.resume` name made by tempSibling, or undefined for any other name. */
export function stateOwner(name: string): TempOwner | undefined {
  return ownerIn(STATE_NAME, name);
}

function ownerIn(pattern: RegExp, name: string): TempOwner | undefined {
  const match = pattern.exec(name);
  if (match === null) return undefined;
  return { host: match[1]!, pid: Number(match[2]) };
}
