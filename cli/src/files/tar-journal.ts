/**
 * The resume state of a folder or bundle receive (PROTOCOL.md §4.12). Beside the `.part` folder, its `.resume` file
 * holds the state in its first TAR_HEAD_BYTES (one line of JSON, padded with spaces) and the journal after them:
 * one record per tar entry, in stream order, with the stream's bytes before the entry's data (its headers, and the
 * padding after the entry before it) and where the entry landed below the part. From the journal and the files in
 * the part, a later receive rebuilds the exact tar prefix it holds (tar-resume.ts) and claims it.
 *
 * A checkpoint first makes the journal so far and the data it counts reach the disk (fsync), then records the
 * stream offset and the journal's length in the state: what is recorded is on the disk, whatever happens next.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fromUtf8, utf8 } from '@portunus/protocol';
import type { EntryKind } from './entry-check.js';
import { fileError } from './fs-errors.js';
import { createStateFile, FORMAT, readStateHead, type Partial, type TarIdentity } from './resume-state.js';

/** The state's JSON line, padded; the journal starts after it. */
export const TAR_HEAD_BYTES = 1024;

/**
 * Records are gathered in memory and written together at the next checkpoint, or once this many bytes wait: one
 * write per checkpoint instead of one per entry (10,000 small files were 10,000 writes). Only the checkpointed
 * length is ever read back (readJournal; reopen cuts the rest), and whatever an entry after the checkpoint
 * created is removed on resume (tar-resume.ts tidy), so records not yet written change nothing a resume sees.
 */
const FLUSH_BYTES = 64 * 1024;

/** One tar entry as received. */
export interface JournalEntry {
  /** The tar header's name. */
  name: string;
  kind: EntryKind;
  /** Where it landed, in components below the part's root. */
  parts: string[];
  /** Stream offset of its data, and its length (0 but for files). */
  start: number;
  size: number;
  /** A symlink's target. */
  link?: string;
  /** The stream's bytes between the end of the previous entry's data and the start of this one's. */
  meta: Uint8Array;
}

export class TarJournal {
  private recorded = 0;
  /** Records appended but not yet written, which start at journal offset `length - pendingBytes`. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** The writes of records, one after another: a checkpoint's flush settles after every earlier one. */
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly identity: TarIdentity,
    /** Bytes of journal written (after the head). */
    private length: number,
  ) {}

  /** A new, empty journal for a new part folder. */
  static async create(part: string, identity: TarIdentity): Promise<TarJournal> {
    const { path, handle } = await createStateFile(part, constants.O_RDWR);
    const journal = new TarJournal(path, handle, identity, 0);
    await journal.writeHead(0, 0);
    return journal;
  }

  /** The journal of a part taken over (resume-state.ts adopt), cut to the `length` its checkpoint counted. */
  static async reopen(partial: Partial, identity: TarIdentity, length: number): Promise<TarJournal> {
    let handle: FileHandle;
    try {
      handle = await open(partial.state, constants.O_RDWR | (constants.O_NOFOLLOW ?? 0));
      await handle.truncate(TAR_HEAD_BYTES + length);
    } catch (err) {
      throw fileError(err, 'open', partial.state);
    }
    const journal = new TarJournal(partial.state, handle, identity, length);
    journal.recorded = partial.bytes;
    return journal;
  }

  /** Stream bytes the last checkpoint recorded. */
  get bytes(): number {
    return this.recorded;
  }

  /** Journal bytes written so far: what a checkpoint taken now counts. */
  get written(): number {
    return this.length;
  }

  /** Appends an entry, before it is created: a checkpoint that counts the entry has its record on the disk. */
  async append(entry: JournalEntry): Promise<void> {
    const { meta, ...rest } = entry;
    const json = utf8(JSON.stringify({ ...rest, meta: Buffer.from(meta).toString('base64') }));
    const record = new Uint8Array(4 + json.length);
    new DataView(record.buffer).setUint32(0, json.length);
    record.set(json, 4);
    this.length += record.length;
    this.pending.push(record);
    this.pendingBytes += record.length;
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  /** Writes the records gathered so far in one positioned write, after every write started before. */
  private flush(): Promise<void> {
    const data = Buffer.concat(this.pending);
    const at = TAR_HEAD_BYTES + this.length - this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    const written = this.writes.then(async () => {
      if (data.length === 0) return;
      try {
        await this.handle.write(data, 0, data.length, at);
      } catch (err) {
        throw fileError(err, 'write', this.path);
      }
    });
    this.writes = written.catch(() => {});
    return written;
  }

  /**
   * Records that the stream's first `bytes` are in the part, as the journal's first `length` bytes describe: the
   * journal reaches the disk first (the caller has synced the data).
   */
  async checkpoint(bytes: number, length: number): Promise<void> {
    await this.flush();
    try {
      await this.handle.sync();
    } catch (err) {
      throw fileError(err, 'write', this.path);
    }
    await this.writeHead(bytes, length);
    this.recorded = bytes;
  }

  /** Forgets everything (the sender's data does not match the part): an empty journal. */
  async reset(): Promise<void> {
    await this.writes;
    try {
      await this.handle.truncate(TAR_HEAD_BYTES);
    } catch (err) {
      throw fileError(err, 'write', this.path);
    }
    this.length = 0;
    this.pending = [];
    this.pendingBytes = 0;
    await this.writeHead(0, 0);
    this.recorded = 0;
  }

  async close(): Promise<void> {
    await this.writes;
    await this.handle.close().catch(() => {});
  }

  /** One positioned write of the whole head: a torn one does not parse, and the state is not used. */
  private async writeHead(bytes: number, length: number): Promise<void> {
    const json = JSON.stringify({ format: FORMAT, ...this.identity, bytes, journal: length });
    const head = new Uint8Array(TAR_HEAD_BYTES).fill(0x20);
    head.set(utf8(json));
    head[TAR_HEAD_BYTES - 1] = 0x0a;
    try {
      await this.handle.write(head, 0, head.length, 0);
    } catch (err) {
      throw fileError(err, 'write', this.path);
    }
  }
}

/** The checkpoint a state records and the journal entries it counts; undefined if any of it does not parse. */
export async function readJournal(
  state: string,
): Promise<{ bytes: number; length: number; entries: JournalEntry[] } | undefined> {
  const head = await readStateHead(state);
  const bytes = head?.bytes;
  const length = head?.journal;
  if (!Number.isSafeInteger(bytes) || !Number.isSafeInteger(length) || (length as number) < 0) return undefined;
  let handle: FileHandle | undefined;
  try {
    handle = await open(state, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    const data = new Uint8Array(length as number);
    const { bytesRead } = await handle.read(data, 0, data.length, TAR_HEAD_BYTES);
    if (bytesRead !== data.length) return undefined;
    const entries = parseRecords(data);
    return entries === undefined ? undefined : { bytes: bytes as number, length: length as number, entries };
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

function parseRecords(data: Uint8Array): JournalEntry[] | undefined {
  const entries: JournalEntry[] = [];
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  for (let at = 0; at < data.length;) {
    if (at + 4 > data.length) return undefined;
    const size = view.getUint32(at);
    const text = fromUtf8(data.subarray(at + 4, at + 4 + size));
    if (text === undefined || at + 4 + size > data.length) return undefined;
    const entry = parseEntry(JSON.parse(text) as Record<string, unknown>);
    if (entry === undefined) return undefined;
    entries.push(entry);
    at += 4 + size;
  }
  return entries;
}

function parseEntry(json: Record<string, unknown>): JournalEntry | undefined {
  const { name, kind, parts, start, size, link, meta } = json;
  if (typeof name !== 'string' || typeof meta !== 'string') return undefined;
  if (kind !== 'file' && kind !== 'directory' && kind !== 'symlink') return undefined;
  if (!Array.isArray(parts) || !parts.every((p) => typeof p === 'string')) return undefined;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size) || (size as number) < 0) return undefined;
  if (link !== undefined && typeof link !== 'string') return undefined;
  return {
    name,
    kind,
    parts: parts as string[],
    start: start as number,
    size: size as number,
    ...(link === undefined ? {} : { link }),
    meta: new Uint8Array(Buffer.from(meta, 'base64')),
  };
}
