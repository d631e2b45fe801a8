/**
 * Validation of one tar entry from the network, before anything is created for it (pure: no file system).
 * Names are `<root>/<components…>` with '/' separators; symlink targets must be relative and normalized with only
 * leading '..' components, climbing no higher than the top-level folder.
 *
 * Why that form is enough: a link's own directory is a real directory (extraction never descends through a
 * symlink), so its leading '..'s land on a real directory inside the root; every further component only descends,
 * either into a real entry or through another link which (by the same rule) resolves inside the root. A '..' after
 * a name is refused because it could climb out of wherever a link led (`x -> l/..` with `l -> ../..`), even when the
 * text looks inside; checking that would depend on entries not yet seen.
 */
import { createError, type PortunusError } from '../protocol.js';
import { hasUnsafeChars, MAX_COMPONENT_BYTES, quoteForTerminal } from './sanitize.js';

/** Longest entry path (PATH_MAX on Linux), in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096;
export const DEFAULT_MAX_ENTRIES = 100_000;

export type EntryKind = 'directory' | 'file' | 'symlink';

const UNSAFE_HINT = 'The sender offered a folder entry that is unsafe to create; nothing was kept.';

export function unsafeEntry(name: string, why: string, hint?: string): PortunusError {
  return createError('UNSAFE_PATH', `refusing the folder entry ${quoteForTerminal(name)}: ${why}`, hint ? { hint } : undefined);
}

/** Maps tar-stream's entry type; hard links, devices, fifos and anything unknown are refused. */
export function entryKind(name: string, type: string | null | undefined): EntryKind | PortunusError {
  switch (type) {
    case 'file':
    case 'directory':
    case 'symlink':
      return type;
    case 'link':
      return unsafeEntry(name, 'hard links are not accepted', UNSAFE_HINT);
    default:
      return unsafeEntry(name, `entries of type ${quoteForTerminal(String(type))} are not accepted`, UNSAFE_HINT);
  }
}

/** Problems shared by entry names and link targets, or undefined. */
function badPathText(text: string): string | undefined {
  if (text === '') return 'it is empty';
  if (text.includes('\0')) return 'it contains a NUL byte';
  if (text.includes('\\')) return 'it contains a backslash';
  if (hasUnsafeChars(text)) return 'it contains control or bidi characters';
  if (text.startsWith('/')) return 'it is an absolute path';
  if (/^[A-Za-z]:/.test(text)) return 'it starts with a drive letter';
  if (Buffer.byteLength(text, 'utf8') > MAX_PATH_BYTES) return `it is longer than ${MAX_PATH_BYTES} bytes`;
  return undefined;
}

function badComponent(part: string): string | undefined {
  if (part === '') return 'it has an empty component';
  if (part === '.' || part === '..') return `it has a '${part}' component`;
  if (Buffer.byteLength(part, 'utf8') > MAX_COMPONENT_BYTES) return 'a component is longer than 255 bytes';
  return undefined;
}

/**
 * Returns the components below the top-level folder ([] for the folder itself). Only directories may end in '/'.
 */
export function checkEntryName(name: string, rootName: string, kind: EntryKind): string[] | PortunusError {
  const bad = badPathText(name);
  if (bad !== undefined) return unsafeEntry(name, bad);
  const trimmed = kind === 'directory' && name.endsWith('/') ? name.slice(0, -1) : name;
  const parts = trimmed.split('/');
  for (const part of parts) {
    const why = badComponent(part);
    if (why !== undefined) return unsafeEntry(name, why);
  }
  if (parts[0] !== rootName) return unsafeEntry(name, `it is not inside the offered folder ${quoteForTerminal(rootName)}`);
  const below = parts.slice(1);
  if (below.length === 0 && kind !== 'directory') return unsafeEntry(name, 'the top-level entry must be a folder');
  return below;
}

/**
 * `linkParts` are the link's own components below the root; its directory is `linkParts.length - 1` levels deep,
 * which bounds how many '..' the target may start with.
 */
export function checkLinkTarget(name: string, linkname: string, linkParts: readonly string[]): PortunusError | undefined {
  const bad = badPathText(linkname);
  if (bad !== undefined) return unsafeEntry(name, `its link target is unsafe (${bad})`);
  if (linkname === '.') return undefined;
  const parts = linkname.split('/');
  let ups = 0;
  while (parts[ups] === '..') ups++;
  if (ups > linkParts.length - 1) return unsafeEntry(name, 'its link target points outside the folder');
  for (const part of parts.slice(ups)) {
    const why = badComponent(part);
    if (why !== undefined) return unsafeEntry(name, `its link target is not a normalized relative path (${why})`);
  }
  return undefined;
}
