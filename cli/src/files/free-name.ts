/**
 * `--rename`: a name that is free in a folder, as browsers choose one for a download: `a.txt` → `a (1).txt`,
 * `a.tar.gz` → `a (1).tar.gz`, `photos` → `photos (1)`. The result obeys the name rule (PROTOCOL.md §4.4).
 */
import { join } from 'node:path';
import { createError } from '@portunus/protocol';
import { absent } from './place.js';
import { componentNameProblem, quoteForTerminal } from './sanitize.js';

/** Tries this many numbers before giving up (a folder with a thousand copies of a name is a mistake). */
const MAX_TRIES = 1000;

/** `taken`: names already promised to other entries of the same transfer. */
export async function freeName(
  folder: string,
  name: string,
  type: 'file' | 'folder',
  taken: ReadonlySet<string> = new Set(),
): Promise<string> {
  const [stem, ext] = type === 'folder' ? [name, ''] : splitExtension(name);
  for (let n = 1; n <= MAX_TRIES; n++) {
    const candidate = numbered(stem, ext, n);
    if (taken.has(candidate) || componentNameProblem(candidate) !== undefined) continue;
    if (await absent(join(folder, candidate))) return candidate;
  }
  throw createError('FILE_EXISTS', `no free name like ${quoteForTerminal(name)} in ${quoteForTerminal(folder, 400)}`);
}

/** The extension browsers keep: from the last dot (not a leading one), with `.tar` before it. */
export function splitExtension(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return [name, ''];
  const tar = name.slice(0, dot).toLowerCase().endsWith('.tar') && dot - 4 > 0 ? dot - 4 : dot;
  return [name.slice(0, tar), name.slice(tar)];
}

/** `stem (n)ext`, the stem cut (by code points) so the whole stays within 255 bytes of UTF-8. */
function numbered(stem: string, ext: string, n: number): string {
  const suffix = ` (${n})${ext}`;
  let chars = [...stem];
  while (chars.length > 1 && Buffer.byteLength(chars.join('') + suffix, 'utf8') > 255) chars = chars.slice(0, -1);
  return chars.join('') + suffix;
}
