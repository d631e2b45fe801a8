/**
 * Checks each entry of a received folder's tar before anything is made of it, with the CLI receiver's own rules
 * (PROTOCOL.md §4.6, @portunus/client entry-check) plus what a zip opened on Windows or macOS needs: no symbolic
 * links (Explorer cannot create them), and no two names that differ only in case or Unicode form (those systems
 * take them as one). Memory is bounded by the entry cap: one key per entry and per implied parent folder.
 */
import { createError, PortunusError, type Offer } from '@portunus/protocol';
import {
  checkBundleEntryName,
  checkEntryName,
  DEFAULT_MAX_ENTRIES,
  ENTRY_HINTS,
  entryKind,
  quoteForTerminal,
  unsafeEntry,
} from '@portunus/client';
import type { TarEntryHeader } from './tar-reader.js';

export type FolderOffer = Extract<Offer, { kind: 'folder' }>;
/** What arrives as a tar: a folder, or a bundle of several files and folders (saved as one zip all the same). */
export type TarOffer = Extract<Offer, { kind: 'folder' | 'bundle' }>;

export const LINK_IN_PAGE_HINT =
  'The folder holds a symbolic link, which a zip cannot carry to Windows; nothing was kept. Receive it with the portunus command instead.';

export interface CheckedEntry {
  /** The entry's path below and including the top-level folder, '/'-separated; folders end with '/'. */
  path: string;
  kind: 'directory' | 'file';
  size: number;
  executable: boolean;
  mtime: number;
}

export class FolderEntries {
  /** Case- and form-folded path → what it is; bounded by twice the entry cap. */
  private readonly seen = new Map<string, 'directory' | 'file'>([['', 'directory']]);
  private entries = 0;
  private files = 0;
  private bytes = 0;
  private readonly types: ReadonlyMap<string, 'file' | 'folder'>;

  constructor(
    private readonly offer: TarOffer,
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
  ) {
    this.types = new Map(offer.kind === 'bundle' ? offer.entries.map((e) => [e.name, e.type]) : []);
  }

  check(header: TarEntryHeader): CheckedEntry {
    if (++this.entries > this.maxEntries) {
      throw createError('UNSAFE_PATH', `the folder has more than ${this.maxEntries} entries`, {
        hint: 'The receiver limits how many entries a folder may have; ask for an archive of it instead.',
      });
    }
    const kind = entryKind(header.name, typeName(header.typeflag));
    if (kind instanceof PortunusError) throw kind;
    const parts = this.partsOf(header.name, kind);
    if (kind === 'symlink') {
      throw createError(
        'UNSAFE_PATH',
        `refusing the folder entry ${quoteForTerminal(header.name)}: it is a symbolic link`,
        {
          hint: LINK_IN_PAGE_HINT,
        },
      );
    }
    if (kind !== 'file' && header.size > 0) throw createError('PROTOCOL', 'a folder or link entry carries data');
    if (kind === 'file') this.count(header.size);
    this.place(header.name, parts, kind);
    const path = parts.join('/');
    return {
      path: kind === 'directory' ? `${path}/` : path,
      kind,
      size: header.size,
      executable: (header.mode & 0o111) !== 0,
      mtime: header.mtime,
    };
  }

  /** Every component, the top-level name first. */
  private partsOf(name: string, kind: 'directory' | 'file' | 'symlink'): string[] {
    const parts =
      this.offer.kind === 'bundle'
        ? checkBundleEntryName(name, this.types, kind)
        : checkEntryName(name, this.offer.name, kind);
    if (parts instanceof PortunusError) throw parts;
    return this.offer.kind === 'bundle' ? parts : [this.offer.name, ...parts];
  }

  /** Checks the counts against the offer once the archive has ended. */
  finish(): void {
    if (this.files !== this.offer.files || this.bytes !== this.offer.bytes) {
      throw createError('PROTOCOL', 'the folder did not hold the number of files and bytes offered');
    }
  }

  private count(size: number): void {
    this.files += 1;
    this.bytes += size;
    if (this.files > this.offer.files || this.bytes > this.offer.bytes) {
      throw createError('PROTOCOL', 'the folder holds more files or bytes than offered');
    }
  }

  /** Refuses repeats, clashes and entries below a file; records implied parent folders. */
  private place(name: string, parts: readonly string[], kind: 'directory' | 'file'): void {
    const keys = parts.map((_, i) => fold(parts.slice(0, i + 1).join('/')));
    for (const parent of keys.slice(0, -1)) {
      const found = this.seen.get(parent);
      if (found === 'file') throw unsafeEntry(name, { why: 'a parent of it is a file', hint: ENTRY_HINTS.layout });
      if (found === undefined) this.remember(parent, 'directory');
    }
    const key = keys[keys.length - 1] ?? '';
    const found = this.seen.get(key);
    if (found === 'directory' && kind === 'directory') return;
    if (found !== undefined) {
      throw unsafeEntry(name, {
        why: 'it repeats or clashes with an earlier entry (names that differ only in case or Unicode form?)',
        hint: ENTRY_HINTS.clash,
      });
    }
    this.remember(key, kind);
  }

  private remember(key: string, kind: 'directory' | 'file'): void {
    if (this.seen.size >= 2 * this.maxEntries) {
      throw createError('UNSAFE_PATH', 'the folder nests too many folders', {
        hint: 'The receiver limits how many entries a folder may have; ask for an archive of it instead.',
      });
    }
    this.seen.set(key, kind);
  }
}

/** Windows and macOS compare names case-insensitively, and macOS in a normalized Unicode form. */
function fold(path: string): string {
  return path.normalize('NFC').toLowerCase();
}

/** tar-stream's names for the typeflags, as entryKind expects them. */
function typeName(typeflag: string): string {
  const names: Record<string, string> = {
    '0': 'file',
    '1': 'link',
    '2': 'symlink',
    '3': 'character-device',
    '4': 'block-device',
    '5': 'directory',
    '6': 'fifo',
    '7': 'contiguous-file',
  };
  return names[typeflag] ?? `unknown (${JSON.stringify(typeflag)})`;
}
