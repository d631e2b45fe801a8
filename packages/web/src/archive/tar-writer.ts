/**
 * The page's sender side of a folder: several picked files (or a picked folder's files, by relative path) become
 * the tar stream of a `folder` offer that the CLI's receiver accepts (PROTOCOL.md §4.5): the top-level folder first,
 * then in each folder its files sorted by the bytes of their UTF-8 names, then its subfolders, depth first; ustar
 * headers as tar-stream 3 writes them, with a pax header for long or non-ASCII names, so the exact size comes from
 * the client core's tarEntrySize before a byte is read. Memory holds the plan and one chunk of a file at a time.
 */
import { createError, PortunusError, type Offer } from '@portunus/protocol';
import {
  componentNameProblem,
  DEFAULT_MAX_ENTRIES,
  MAX_PATH_BYTES,
  quoteForTerminal,
  TAR_END_SIZE,
  tarEntrySize,
  tarPadding,
  ustarSplit,
  utf8Length,
} from '@portunus/client';
import { encodeHeader, encodePax } from './tar-header.js';

/** One file to send: a File gives all of it (`path` is its name, or its webkitRelativePath below the root). */
export interface TarInput {
  /** '/'-separated path below the top-level folder. */
  path: string;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  stream(): ReadableStream<Uint8Array>;
}

interface PlannedEntry {
  /** The tar name: `<root>/<path>`, folders with a trailing '/'. */
  name: string;
  input?: TarInput;
}

export interface TarPlan {
  offer: Extract<Offer, { kind: 'folder' }>;
  entries: readonly PlannedEntry[];
}

interface Folder {
  files: Map<string, TarInput>;
  folders: Map<string, Folder>;
}

const encoder = new TextEncoder();
/** Seconds since the epoch that fit the 11 octal digits of a ustar mtime, as the CLI clamps them (§4.5). */
const MAX_MTIME = 2 ** 31 - 1;

function refuse(path: string, why: string): PortunusError {
  return createError('FILE_ERROR', `cannot send ${quoteForTerminal(path)}: ${why}`, {
    hint: 'Rename it, or leave it out of what you send.',
  });
}

/** Checks every name as receivers will (PROTOCOL.md §4.4) and lays the files out as a folder named `root`. */
export function planTar(root: string, inputs: readonly TarInput[]): TarPlan {
  const rootProblem = componentNameProblem(root);
  if (rootProblem !== undefined) throw refuse(root, rootProblem);
  const top: Folder = { files: new Map(), folders: new Map() };
  const folded = new Map<string, 'file' | 'folder'>();
  let bytes = 0;
  for (const input of inputs) {
    place(top, folded, input);
    bytes += input.size;
  }
  const entries: PlannedEntry[] = [];
  walk(top, `${root}/`, entries);
  if (entries.length > DEFAULT_MAX_ENTRIES) {
    throw createError('FILE_ERROR', `cannot send more than ${DEFAULT_MAX_ENTRIES} files and folders at once`, {
      hint: 'Send an archive of them instead.',
    });
  }
  let size = TAR_END_SIZE;
  for (const entry of entries) size += tarEntrySize(entry.name, entry.input?.size ?? 0);
  return { offer: { kind: 'folder', name: root, size, files: inputs.length, bytes }, entries };
}

/** The exact tar length for these files under `root` (the offer's `size`). */
export function tarSize(root: string, inputs: readonly TarInput[]): number {
  return planTar(root, inputs).offer.size;
}

function place(top: Folder, folded: Map<string, 'file' | 'folder'>, input: TarInput): void {
  const parts = input.path.split('/');
  if (!Number.isSafeInteger(input.size) || input.size < 0) throw refuse(input.path, 'its size is not known');
  if (utf8Length(input.path) + 1 + utf8Length(parts[0] ?? '') > MAX_PATH_BYTES) {
    throw refuse(input.path, `its path is longer than ${MAX_PATH_BYTES} bytes`);
  }
  let folder = top;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const problem = componentNameProblem(part);
    if (problem !== undefined) throw refuse(input.path, problem);
    // Receivers on Windows and macOS take names differing only in case or Unicode form as one.
    const key = parts
      .slice(0, i + 1)
      .join('/')
      .normalize('NFC')
      .toLowerCase();
    const kind = i === parts.length - 1 ? 'file' : 'folder';
    const before = folded.get(key);
    if (before !== undefined && (before === 'file' || kind === 'file')) {
      throw refuse(input.path, 'another file or folder has the same name (ignoring case)');
    }
    folded.set(key, kind);
    if (kind === 'file') folder.files.set(part, input);
    else {
      let sub = folder.folders.get(part);
      if (sub === undefined) folder.folders.set(part, (sub = { files: new Map(), folders: new Map() }));
      folder = sub;
    }
  }
}

function byUtf8(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function walk(folder: Folder, prefix: string, entries: PlannedEntry[]): void {
  entries.push({ name: prefix });
  for (const name of [...folder.files.keys()].sort(byUtf8)) {
    entries.push({ name: prefix + name, input: folder.files.get(name)! });
  }
  for (const name of [...folder.folders.keys()].sort(byUtf8))
    walk(folder.folders.get(name)!, `${prefix}${name}/`, entries);
}

/** The tar stream of a plan, in pieces of any size (rechunk cuts them for the data plane). */
export async function* writeTar(plan: TarPlan, now = Date.now() / 1000): AsyncGenerator<Uint8Array> {
  let total = 0;
  for (const entry of plan.entries) {
    const mtime = Math.min(Math.max(Math.floor(entry.input?.mtime ?? now), 0), MAX_MTIME);
    const fields = entry.input
      ? { typeflag: '0' as const, size: entry.input.size, mode: 0o644 }
      : { typeflag: '5' as const, size: 0, mode: 0o755 };
    for (const piece of headers(entry.name, fields.typeflag, fields.size, fields.mode, mtime)) {
      total += piece.length;
      yield piece;
    }
    if (entry.input === undefined) continue;
    for await (const chunk of exactly(entry.input)) {
      total += chunk.length;
      yield chunk;
    }
    const padding = tarPadding(entry.input.size);
    total += padding;
    if (padding > 0) yield new Uint8Array(padding);
  }
  total += TAR_END_SIZE;
  if (total !== plan.offer.size)
    throw createError('INTERNAL', `the tar came to ${total} bytes, not ${plan.offer.size}`);
  yield new Uint8Array(TAR_END_SIZE);
}

/** A ustar header, or tar-stream's pax layout: a `PaxHeader` entry with the records, then the real header. */
function headers(name: string, typeflag: '0' | '5', size: number, mode: number, mtime: number): Uint8Array[] {
  if (ustarSplit(name) !== undefined) return [encodeHeader({ name, typeflag, size, mode, mtime })];
  const pax = encodePax([['path', name]]);
  return [
    encodeHeader({ name: 'PaxHeader', typeflag: 'x', size: pax.length, mode, mtime }),
    pax,
    new Uint8Array(tarPadding(pax.length)),
    encodeHeader({ name: 'PaxHeader', typeflag, size, mode, mtime }),
  ];
}

/** The file's bytes, refused (FILE_CHANGED) when they are not exactly the size planned. */
async function* exactly(input: TarInput): AsyncGenerator<Uint8Array> {
  const reader = input.stream().getReader();
  let read = 0;
  let ended = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      read += value.length;
      if (read > input.size) break;
      yield value;
    }
  } finally {
    // Stopped early (too many bytes, or the consumer gave up): the file is not read any further.
    if (!ended) await reader.cancel().catch(() => {});
  }
  if (read !== input.size) {
    throw createError('FILE_CHANGED', `${quoteForTerminal(input.path)} changed while it was being sent`, {
      hint: `It held ${read > input.size ? 'more' : 'fewer'} than the ${input.size} bytes offered; send it again.`,
    });
  }
}
