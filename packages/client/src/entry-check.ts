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
import { createError, PortunusError } from '@portunus/protocol';
import { NOT_PORTABLE_HINT, windowsNameProblem } from './portable-name.js';
import { hasUnsafeChars, MAX_COMPONENT_BYTES, quoteForTerminal } from './sanitize.js';
import { utf8Length } from './utf8-length.js';

/** Longest entry path (PATH_MAX on Linux), in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096;
export const DEFAULT_MAX_ENTRIES = 100_000;

export type EntryKind = 'directory' | 'file' | 'symlink';

/** What a refusal tells the user: each says what the sender's archive did, so none claims more than happened. */
export const ENTRY_HINTS = {
  outside: 'The sender offered a path outside the output folder; nothing was kept.',
  link: 'The sender offered a symbolic link that could lead outside the output folder; nothing was kept.',
  name: 'The sender offered a name that cannot be created safely here; nothing was kept.',
  portable: NOT_PORTABLE_HINT,
  type: 'The sender offered a hard link, device or other special file, which receivers never create; nothing was kept.',
  layout: "The sender's archive does not have the layout of the folder it offered; nothing was kept.",
  repeat: "The sender's archive repeats an entry; nothing was kept.",
  throughLink: "The sender's archive puts an entry below one of its own symbolic links; nothing was kept.",
  clash: 'Two entries differ only in case or Unicode form, which this file system takes as one name; nothing was kept.',
} as const;

export interface EntryProblem {
  why: string;
  hint: string;
}

function problem(why: string, hint: keyof typeof ENTRY_HINTS): EntryProblem {
  return { why, hint: ENTRY_HINTS[hint] };
}

export function unsafeEntry(name: string, { why, hint }: EntryProblem): PortunusError {
  return createError('UNSAFE_PATH', `refusing the folder entry ${quoteForTerminal(name)}: ${why}`, { hint });
}

/** Maps tar-stream's entry type; hard links, devices, fifos and anything unknown are refused. */
export function entryKind(name: string, type: string | null | undefined): EntryKind | PortunusError {
  switch (type) {
    case 'file':
    case 'directory':
    case 'symlink':
      return type;
    case 'link':
      return unsafeEntry(name, problem('hard links are not accepted', 'type'));
    default:
      return unsafeEntry(name, problem(`entries of type ${quoteForTerminal(String(type))} are not accepted`, 'type'));
  }
}

/** Problems shared by entry names and link targets, or undefined. */
function badPathText(text: string): EntryProblem | undefined {
  if (text === '') return problem('it is empty', 'name');
  if (text.includes('\0')) return problem('it contains a NUL byte', 'name');
  if (text.includes('\\')) return problem('it contains a backslash', 'name');
  if (hasUnsafeChars(text)) return problem('it contains control or bidi characters', 'name');
  if (text.startsWith('/')) return problem('it is an absolute path', 'outside');
  if (/^[A-Za-z]:/.test(text)) return problem('it starts with a drive letter', 'outside');
  if (utf8Length(text) > MAX_PATH_BYTES) return problem(`it is longer than ${MAX_PATH_BYTES} bytes`, 'name');
  return undefined;
}

function badComponent(part: string): EntryProblem | undefined {
  if (part === '..') return problem("it has a '..' component", 'outside');
  if (part === '') return problem('it has an empty component', 'name');
  if (part === '.') return problem("it has a '.' component", 'name');
  if (utf8Length(part) > MAX_COMPONENT_BYTES) return problem('a component is longer than 255 bytes', 'name');
  return undefined;
}

/** The one name rule of portable-name.ts, for every component of an entry and of a link target. */
function notPortable(part: string, what: string): EntryProblem | undefined {
  const why = windowsNameProblem(part);
  return why === undefined ? undefined : problem(`${what} ${quoteForTerminal(part)}: ${why}`, 'portable');
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
    const found = badComponent(part) ?? notPortable(part, 'the name');
    if (found !== undefined) return unsafeEntry(name, found);
  }
  if (parts[0] !== rootName) {
    return unsafeEntry(name, problem(`it is not inside the offered folder ${quoteForTerminal(rootName)}`, 'outside'));
  }
  const below = parts.slice(1);
  if (below.length === 0 && kind !== 'directory') {
    return unsafeEntry(name, problem('the top-level entry must be a folder', 'layout'));
  }
  return below;
}

/**
 * An entry of a bundle's tar (several top-level entries, PROTOCOL.md §4.5): its first component must be one of the
 * offered entries; below a folder entry the folder rules apply, and a file entry is that one file, nothing below it.
 * Returns every component, the top-level name first.
 */
export function checkBundleEntryName(
  name: string,
  entries: ReadonlyMap<string, 'file' | 'folder'>,
  kind: EntryKind,
): string[] | PortunusError {
  const top = name.split('/')[0] ?? '';
  const type = entries.get(top);
  if (type === 'folder') {
    const below = checkEntryName(name, top, kind);
    return below instanceof PortunusError ? below : [top, ...below];
  }
  const bad = badPathText(name);
  if (bad !== undefined) return unsafeEntry(name, bad);
  if (type === undefined) {
    return unsafeEntry(name, problem('it is not one of the offered entries, nor inside one', 'outside'));
  }
  if (kind !== 'file' || name !== top) {
    return unsafeEntry(name, problem(`the offered file ${quoteForTerminal(top)} is not one regular file`, 'layout'));
  }
  const found = badComponent(top) ?? notPortable(top, 'the name');
  return found === undefined ? [top] : unsafeEntry(name, found);
}

/**
 * `linkParts` are the link's own components below the root; its directory is `linkParts.length - 1` levels deep,
 * which bounds how many '..' the target may start with.
 */
export function checkLinkTarget(
  name: string,
  linkname: string,
  linkParts: readonly string[],
): PortunusError | undefined {
  const bad = badPathText(linkname);
  if (bad !== undefined) return unsafeEntry(name, problem(`its link target is unsafe (${bad.why})`, 'link'));
  if (linkname === '.') return undefined;
  const parts = linkname.split('/');
  let ups = 0;
  while (parts[ups] === '..') ups++;
  if (ups > linkParts.length - 1)
    return unsafeEntry(name, problem('its link target points outside the folder', 'link'));
  for (const part of parts.slice(ups)) {
    const bent = badComponent(part);
    if (bent !== undefined) {
      return unsafeEntry(name, problem(`its link target is not a normalized relative path (${bent.why})`, 'link'));
    }
    const portable = notPortable(part, 'its link target names');
    if (portable !== undefined) return unsafeEntry(name, portable);
  }
  return undefined;
}
