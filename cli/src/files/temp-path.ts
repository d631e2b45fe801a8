/**
 * Names of the temporary files and folders created beside a target. Beside (not in /tmp) so the final rename
 * stays on one file system and is atomic; hidden and marked `.portunus-…part` so a leftover is recognisable.
 */
import { basename, dirname, join } from 'node:path';
import { toHex, type RandomBytes } from '../protocol.js';

/** Keeps `.<name>.portunus-<12 hex>.part` within the 255-byte component limit. */
const MAX_STEM_BYTES = 200;

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

/** A fresh hidden sibling of `target`: `.<name>.portunus-<random>.<suffix>`. */
export function tempSibling(target: string, random: RandomBytes, suffix: 'part' | 'old'): string {
  const stem = truncateUtf8(basename(target), MAX_STEM_BYTES);
  return join(dirname(target), `.${stem}.portunus-${toHex(random(6))}.${suffix}`);
}
