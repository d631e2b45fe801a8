/**
 * Creates validated folder entries under a private root without ever following a link. Every path component is
 * known: the root was made empty and 0700 by us, and each directory below it was made by us (or found, by lstat, to
 * be a real directory: a case-insensitive file system can alias two names). An entry below a link, a repeated
 * entry or a name clash is refused; files and links are created exclusively (O_EXCL / symlink(2) never replace).
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, symlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoOf, fileError } from './fs-errors.js';
import { ENTRY_HINTS, unsafeEntry, type EntryKind } from './entry-check.js';
import { CREATE_FLAGS } from './file-sink.js';
import type { SinkIo } from './sink.js';

const REPEATED = { why: 'it repeats an earlier entry', hint: ENTRY_HINTS.repeat };
const THROUGH_LINK = { why: 'it would be written through a symbolic link', hint: ENTRY_HINTS.throughLink };
const BELOW_FILE = { why: 'a parent of it is a file', hint: ENTRY_HINTS.layout };

export class TreeWriter {
  /** What we created, by '/'-joined components below the root ('' is the root). Bounded by the entry cap. */
  private readonly created = new Map<string, EntryKind>([['', 'directory']]);

  constructor(
    private readonly root: string,
    private readonly umask: number,
    private readonly io: SinkIo,
  ) {}

  async directory(name: string, parts: readonly string[]): Promise<void> {
    const existing = this.created.get(parts.join('/'));
    if (existing === 'directory') return;
    if (existing !== undefined) throw unsafeEntry(name, REPEATED);
    await this.parents(name, parts);
    await this.makeDirectory(name, parts);
  }

  /**
   * `written`: told after each piece reaches the file, with how much it holds (a resumable receive's checkpoints).
   * `finished`: given the open file once all of it is written, to sync and close (else it is closed here).
   */
  async file(
    name: string,
    parts: readonly string[],
    executable: boolean,
    data: AsyncIterable<Uint8Array>,
    written?: (bytes: number) => Promise<void>,
    finished?: (handle: FileHandle) => Promise<void>,
  ): Promise<void> {
    this.claim(name, parts, 'file');
    await this.parents(name, parts);
    const path = join(this.root, ...parts);
    // Owner read/write are kept whatever the umask, so the data can be written; 0o644 / 0o755 otherwise.
    const mode = ((executable ? 0o755 : 0o644) & ~this.umask) | 0o600;
    let handle: FileHandle;
    try {
      handle = await open(path, CREATE_FLAGS, mode);
    } catch (err) {
      throw errnoOf(err) === 'EEXIST' ? clash(name) : fileError(err, 'create', name);
    }
    try {
      let bytes = 0;
      for await (const chunk of data) {
        await this.io.write(handle, chunk);
        bytes += chunk.length;
        await written?.(bytes);
      }
    } catch (err) {
      await handle.close().catch(() => {});
      throw fileError(err, 'write', name);
    }
    if (finished !== undefined) return finished(handle);
    try {
      await handle.close();
    } catch (err) {
      throw fileError(err, 'write', name);
    }
  }

  /**
   * A file this writer's part already held (a resumed receive, tar-resume.ts checked it), cut to its first `bytes`
   * and opened to append the rest.
   */
  async reopen(name: string, parts: readonly string[], bytes: number): Promise<FileHandle> {
    const path = join(this.root, ...parts);
    try {
      const handle = await open(path, constants.O_WRONLY | constants.O_APPEND | (constants.O_NOFOLLOW ?? 0));
      await handle.truncate(bytes).catch(async (err: unknown) => {
        await handle.close();
        throw err;
      });
      return handle;
    } catch (err) {
      throw fileError(err, 'write', name);
    }
  }

  /** Entries the part already holds (a resumed receive): what was created, and the folders above them. */
  adopt(entries: readonly { parts: readonly string[]; kind: EntryKind }[]): void {
    for (const { parts, kind } of entries) {
      for (let i = 1; i < parts.length; i++) this.created.set(parts.slice(0, i).join('/'), 'directory');
      this.created.set(parts.join('/'), kind);
    }
  }

  /** `linkname` was checked by checkLinkTarget: relative, normalized, resolving inside the root. */
  async symlink(name: string, parts: readonly string[], linkname: string): Promise<void> {
    this.claim(name, parts, 'symlink');
    await this.parents(name, parts);
    try {
      await symlink(linkname, join(this.root, ...parts));
    } catch (err) {
      throw errnoOf(err) === 'EEXIST' ? clash(name) : fileError(err, 'create', name);
    }
  }

  /**
   * Recorded at once, before the entry is created: files are written a few at once (tar-sink.ts), and an entry
   * that repeats or lies below one still being written must be refused as if that one were done.
   */
  private claim(name: string, parts: readonly string[], kind: EntryKind): void {
    const key = parts.join('/');
    if (this.created.has(key)) throw unsafeEntry(name, REPEATED);
    this.created.set(key, kind);
  }

  /** Ensures every parent is a real directory, creating missing ones (a tar need not list them). */
  private async parents(name: string, parts: readonly string[]): Promise<void> {
    for (let i = 1; i < parts.length; i++) {
      const kind = this.created.get(parts.slice(0, i).join('/'));
      if (kind === 'directory') continue;
      if (kind === 'symlink') throw unsafeEntry(name, THROUGH_LINK);
      if (kind === 'file') throw unsafeEntry(name, BELOW_FILE);
      await this.makeDirectory(name, parts.slice(0, i));
    }
  }

  private async makeDirectory(name: string, parts: readonly string[]): Promise<void> {
    const path = join(this.root, ...parts);
    try {
      await mkdir(path, (0o755 & ~this.umask) | 0o700);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw fileError(err, 'create', name);
      if (!(await lstat(path)).isDirectory()) throw clash(name);
    }
    this.created.set(parts.join('/'), 'directory');
  }
}

function clash(name: string) {
  return unsafeEntry(name, {
    why: 'it clashes with an earlier entry (names that differ only in case or Unicode form?)',
    hint: ENTRY_HINTS.clash,
  });
}
