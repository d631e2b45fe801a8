/**
 * The receiver's side of resuming a folder or bundle (PROTOCOL.md §4.12): from a part folder taken over and its
 * journal (tar-journal.ts), the tar prefix the part holds is made again — the journal's bytes between entries, the
 * files' bytes read from the disk — and hashed, so the claim covers what is on the disk now, not what a state says.
 * First the part is tidied: whatever an entry after the checkpoint created is removed, and anything else amiss (a
 * listed entry missing or of another kind, a link changed, a file shorter or longer than listed) makes the part
 * unusable: the receive then starts over.
 */
import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, opendir, readlink, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sha256, Sha256Factory } from '@portunus/protocol';
import type { EntryKind } from './entry-check.js';
import type { FileDigest, FileHashing } from './manifest.js';
import type { SinkIo } from './sink.js';
import type { Partial } from './resume-state.js';
import { readJournal, type JournalEntry } from './tar-journal.js';

const READ_BYTES = 1024 * 1024;

/** The file a resumed prefix ends in the middle of: completed from the stream before the extractor takes over. */
export class CutFile {
  constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    /** Stream offset where its data ends. */
    readonly end: number,
    private readonly hashing: FileHashing | undefined,
  ) {}

  /** Appends the piece of its data at stream offset `at`; true once it is whole (and closed). */
  async write(piece: Uint8Array, at: number, io: SinkIo): Promise<boolean> {
    await io.write(this.handle, piece);
    this.hashing?.update(piece);
    if (at + piece.length < this.end) return false;
    await this.handle.close();
    this.hashing?.end();
    return true;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => {});
  }
}

/** What a part holds: the tar's first `bytes`, as the journal's `entries` describe. */
export interface TarPrefix {
  bytes: number;
  /** The journal's length at the checkpoint (it is cut there). */
  length: number;
  entries: JournalEntry[];
  /** SHA-256 after the prefix: the transfer's goes on from it. */
  hash: Sha256;
  /** The files the prefix holds whole. */
  files: FileDigest[];
  /** The file the prefix ends in the middle of: how much of it is here, and its hash so far. */
  current?: { entry: JournalEntry; bytes: number; hash: Hash };
}

/** The prefix `partial` holds, or undefined when it cannot be used. */
export async function rebuildPrefix(partial: Partial, sha256: Sha256Factory): Promise<TarPrefix | undefined> {
  const journal = await readJournal(partial.state);
  if (journal === undefined || journal.bytes !== partial.bytes || journal.bytes <= 0) return undefined;
  try {
    if (!(await tidy(partial.part, journal.entries))) return undefined;
    return await hashPrefix(partial.part, journal, sha256);
  } catch {
    return undefined;
  }
}

async function hashPrefix(
  root: string,
  journal: { bytes: number; length: number; entries: JournalEntry[] },
  sha256: Sha256Factory,
): Promise<TarPrefix | undefined> {
  const { bytes, entries } = journal;
  const hash = sha256();
  const files: FileDigest[] = [];
  let position = 0;
  let current: TarPrefix['current'];
  for (const [i, entry] of entries.entries()) {
    hash.update(entry.meta);
    position += entry.meta.length;
    const last = i === entries.length - 1;
    // Each entry's data follows its headers; only the last one may be cut by the checkpoint.
    if (position !== entry.start || (!last && entry.start + entry.size > bytes)) return undefined;
    if (entry.kind === 'symlink' && (await readlink(join(root, ...entry.parts))) !== entry.link) return undefined;
    if (entry.kind !== 'file') continue;
    const held = Math.min(entry.size, bytes - entry.start);
    const fileHash = await hashFile(join(root, ...entry.parts), held, entry.size, hash);
    if (fileHash === undefined) return undefined;
    position += held;
    if (held === entry.size) files.push({ name: entry.name, bytes: held, sha256: fileHash.digest('hex') });
    else current = { entry, bytes: held, hash: fileHash };
  }
  if (position !== bytes) return undefined;
  return { bytes, length: journal.length, entries, hash, files, ...(current === undefined ? {} : { current }) };
}

/**
 * Feeds a file's first `held` bytes into `tar` and its own hash, which it returns; undefined when the file is not
 * a regular file of `size` bytes (at least `held` when cut).
 */
async function hashFile(path: string, held: number, size: number, tar: Sha256): Promise<Hash | undefined> {
  const handle = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  try {
    const st = await handle.stat();
    if (!st.isFile() || (held === size ? st.size !== size : st.size < held)) return undefined;
    const own = createHash('sha256');
    const buffer = new Uint8Array(Math.min(READ_BYTES, Math.max(held, 1)));
    for (let position = 0; position < held;) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, held - position), position);
      if (bytesRead === 0) return undefined;
      const piece = buffer.subarray(0, bytesRead);
      tar.update(piece);
      own.update(piece);
      position += bytesRead;
    }
    return own;
  } finally {
    await handle.close();
  }
}

/**
 * Removes from the part what the journal does not list (entries created after the checkpoint); false when a listed
 * entry is missing or of another kind.
 */
async function tidy(root: string, entries: readonly JournalEntry[]): Promise<boolean> {
  const listed = new Map<string, EntryKind>([['', 'directory']]);
  for (const { parts, kind } of entries) {
    // Folders a tar did not list were made for the entries below them (tree-writer.ts).
    for (let i = 1; i < parts.length; i++) listed.set(parts.slice(0, i).join('/'), 'directory');
    listed.set(parts.join('/'), kind);
  }
  let found = 1;
  const pending = [''];
  for (let rel = pending.pop(); rel !== undefined; rel = pending.pop()) {
    for await (const dirent of await opendir(join(root, rel))) {
      const key = rel === '' ? dirent.name : `${rel}/${dirent.name}`;
      const kind = listed.get(key);
      if (kind === undefined) {
        await rm(join(root, key), { recursive: true, force: true });
        continue;
      }
      const actual = dirent.isDirectory()
        ? 'directory'
        : dirent.isSymbolicLink()
          ? 'symlink'
          : dirent.isFile()
            ? 'file'
            : undefined;
      if (actual !== kind) return false;
      found += 1;
      if (kind === 'directory') pending.push(key);
    }
  }
  // Every entry listed is there (a folder listed twice, as a tar may, counts once).
  return found === listed.size && (await lstat(root)).isDirectory();
}
