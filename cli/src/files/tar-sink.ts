/**
 * A received tar (a folder or a bundle): parsed by tar-stream `extract`, each entry validated (entry-check) before
 * TreeWriter creates it inside a `.part` folder beside the target (temp-path.ts), which the layout puts in place on
 * commit. Any failure removes the whole temporary folder. Memory stays bounded: write() waits for the extractor to
 * drain, and the extractor waits for each file's data to reach the disk.
 *
 * With a journal (tar-journal.ts) the receive is resumable (PROTOCOL.md §4.12): every entry is journaled before it
 * is created, with the stream's bytes before its data (MetaTracker); at least every CHECKPOINT_BYTES the data
 * written so far is synced and the journal records how far the stream is in the part; keep() leaves both for a
 * later receive. That one continues from a rebuilt prefix (tar-resume.ts): the file the prefix ends in is appended
 * to first, then a new extractor reads on from the next header.
 */
import { constants } from 'node:fs';
import { chmod, open, readdir, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { extract as createExtract, type Header } from 'tar-stream';
import { createError, PortunusError, type Offer } from '@portunus/protocol';
import { checkLinkTarget, entryKind, type EntryKind } from './entry-check.js';
import { fileError } from './fs-errors.js';
import type { FileHashing, Manifest } from './manifest.js';
import { syncParent } from './place.js';
import { CHECKPOINT_BYTES } from './resume-state.js';
import { sanitizeForTerminal } from './sanitize.js';
import type { ResolvedSinkOptions, ResumableSink } from './sink.js';
import type { TarJournal } from './tar-journal.js';
import { MetaTracker } from './tar-meta.js';
import type { TarPrefix } from './tar-resume.js';
import { TreeWriter } from './tree-writer.js';

/** What the tar claims to hold; checked as it arrives and at the end. */
export type TarOffer = Extract<Offer, { kind: 'folder' | 'bundle' }>;

/** How a tar's entries map into the temporary root, and how the finished root is put in place. */
export interface TarLayout {
  /** Components below the root (the first one the top-level entry), and how deep the top-level folder is. */
  parts(name: string, kind: EntryKind): { parts: string[]; top: number } | PortunusError;
  /** After the last entry: anything the offer promised that never came is refused here. */
  finish(): PortunusError | undefined;
  /** Moves the finished root's contents into place; returns where they went. */
  place(root: string): Promise<string>;
}

export type TarSinkOptions = ResolvedSinkOptions & { manifest?: Manifest };

/** A resumable receive: its journal, and what the part holds when it was taken over. */
export interface TarResume {
  journal: TarJournal;
  prefix?: TarPrefix;
}

/** The file a resumed prefix ends in, completed from the stream before the extractor takes over. */
interface Continuing {
  handle: FileHandle;
  path: string;
  /** Stream offset where its data ends. */
  end: number;
  hashing: FileHashing | undefined;
}

const padded = (offset: number): number => Math.ceil(offset / 512) * 512;

function tarError(err: unknown): PortunusError {
  if (err instanceof PortunusError) return err;
  const message = sanitizeForTerminal(err instanceof Error ? err.message : String(err));
  return createError('PROTOCOL', `the folder data is not a valid tar stream (${message})`, { cause: err });
}

export class TarSink implements ResumableSink {
  private readonly extract = createExtract();
  private tree: TreeWriter;
  private received = 0;
  /** Stream offset of the extractor's first byte: 0, or the header after a resumed prefix. */
  private base = 0;
  private entries = 0;
  private files = 0;
  private bytes = 0;
  private state: 'open' | 'committed' | 'discarded' | 'kept' = 'open';
  private failure: PortunusError | undefined;
  /** The entry being written; extract hands out the next one only after it settles. */
  private current: Promise<void> = Promise.resolve();
  private discarding: Promise<void> | undefined;
  private meta: MetaTracker | undefined;
  private continuing: Continuing | undefined;
  /** How far the part is consistent: the stream offset, the journal's length then, files written since a sync. */
  private position = 0;
  private length = 0;
  private readonly dirty = new Set<string>();
  private checkpointing: Promise<void> | undefined;
  private prefixBytes = 0;

  static async open(
    root: string,
    layout: TarLayout,
    offer: TarOffer,
    opts: TarSinkOptions,
    resume?: TarResume,
  ): Promise<TarSink> {
    const sink = new TarSink(root, layout, offer, opts, resume?.journal);
    if (resume?.prefix !== undefined) await sink.continueFrom(resume.prefix);
    return sink;
  }

  private constructor(
    private readonly root: string,
    private readonly layout: TarLayout,
    private readonly offer: TarOffer,
    private readonly opts: TarSinkOptions,
    private readonly journal: TarJournal | undefined,
  ) {
    this.tree = new TreeWriter(root, opts.umask, opts.io);
    if (journal !== undefined) this.meta = new MetaTracker(0);
    this.extract.on('entry', (header, stream, next) => {
      // Destroying the extractor destroys the entry's stream too; that error is already ours, in `failure`.
      stream.on('error', () => {});
      this.current = this.writeEntry(header, stream as AsyncIterable<Uint8Array>).then(
        () => next(),
        (err: unknown) => {
          this.failWith(err);
          next(this.failure);
        },
      );
    });
    this.extract.on('error', (err: unknown) => this.failWith(err));
  }

  /** Stream bytes the part held when taken over (0 after restart()). */
  get held(): number {
    return this.prefixBytes;
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.check();
    if (this.received + chunk.length > this.offer.size) {
      this.failWith(createError('CORRUPT', `the sender sent more than the ${this.offer.size} bytes it offered`));
      await this.check();
    }
    let at = this.received;
    this.received += chunk.length;
    this.meta?.see(chunk, at);
    let rest = chunk;
    if (this.continuing !== undefined) {
      const piece = rest.subarray(0, this.continuing.end - at);
      await this.continueFile(this.continuing, piece, at);
      [rest, at] = [rest.subarray(piece.length), at + piece.length];
    }
    // A resumed file's padding: the extractor starts at the next header.
    const skip = Math.min(rest.length, Math.max(0, this.base - at));
    rest = rest.subarray(skip);
    // A copy: the extractor may hold on to the bytes after this call returns.
    if (rest.length > 0 && !this.extract.write(Buffer.from(rest))) await this.settled('drain');
    await this.check();
  }

  async commit(): Promise<string> {
    await this.check();
    if (this.received !== this.offer.size) {
      this.failWith(
        createError('CORRUPT', `the data ended after ${this.received} of the ${this.offer.size} bytes offered`),
      );
      await this.check();
    }
    const finished = this.settled('finish');
    this.extract.end(undefined);
    await finished;
    await this.current;
    await this.check();
    if (this.files !== this.offer.files || this.bytes !== this.offer.bytes) {
      this.failWith(createError('PROTOCOL', 'the folder did not hold the number of files and bytes offered'));
      await this.check();
    }
    const missing = this.layout.finish();
    if (missing !== undefined) {
      this.failWith(missing);
      await this.check();
    }
    await this.checkpointing;
    let placed = '';
    try {
      await chmod(this.root, (0o755 & ~this.opts.umask) | 0o700);
      placed = await this.layout.place(this.root);
    } catch (err) {
      this.failWith(fileError(err, 'create', this.root));
      await this.check();
    }
    this.state = 'committed';
    await this.removeJournal();
    await syncParent(placed);
    return placed;
  }

  async abort(): Promise<void> {
    if (this.state === 'committed' || this.state === 'kept') return;
    await this.discard();
  }

  /** Drops what the part holds and starts it over (the sender's data does not match it); before any data. */
  async restart(): Promise<void> {
    await this.check();
    await this.continuing?.handle.close().catch(() => {});
    this.continuing = undefined;
    try {
      for (const name of await readdir(this.root)) await rm(join(this.root, name), { recursive: true, force: true });
      await this.journal?.reset();
    } catch (err) {
      this.failWith(fileError(err, 'write', this.root));
      await this.check();
    }
    this.tree = new TreeWriter(this.root, this.opts.umask, this.opts.io);
    this.received = this.base = this.entries = this.files = this.bytes = 0;
    this.position = this.length = this.prefixBytes = 0;
    this.meta = this.journal === undefined ? undefined : new MetaTracker(0);
    this.dirty.clear();
    this.opts.manifest?.clear();
  }

  /**
   * Ends the receive but keeps the part and its journal for a later one (an interruption), when it is resumable and
   * holds data: returns the part and how much of the stream it holds; otherwise the same as abort(), and undefined.
   */
  async keep(): Promise<{ path: string; bytes: number } | undefined> {
    if (this.state !== 'open') return undefined;
    const journal = this.journal;
    if (journal === undefined || this.failure !== undefined) {
      await this.discard();
      return undefined;
    }
    this.state = 'kept';
    this.extract.destroy();
    await this.current;
    await this.continuing?.handle.close().catch(() => {});
    await this.checkpointing;
    if (this.position > journal.bytes) await this.checkpoint().catch(() => {});
    await journal.close();
    if (journal.bytes > 0) return { path: this.root, bytes: journal.bytes };
    this.state = 'open';
    await this.discard();
    return undefined;
  }

  private async continueFrom(prefix: TarPrefix): Promise<void> {
    this.tree.adopt(prefix.entries);
    for (const entry of prefix.entries) {
      // Checked again as when they came, and counted by the layout (a bundle's entries that came).
      const mapped = this.layout.parts(entry.name, entry.kind);
      if (mapped instanceof PortunusError) throw mapped;
      this.entries += 1;
      if (entry.kind === 'file') [this.files, this.bytes] = [this.files + 1, this.bytes + entry.size];
    }
    for (const file of prefix.files) this.opts.manifest?.add(file);
    this.received = this.position = this.prefixBytes = prefix.bytes;
    this.length = prefix.length;
    const last = prefix.entries[prefix.entries.length - 1]!;
    const end = last.start + last.size;
    this.meta = new MetaTracker(end);
    this.base = padded(end);
    if (prefix.current === undefined) return;
    const { entry, bytes, hash } = prefix.current;
    this.continuing = {
      handle: await this.tree.reopen(entry.name, entry.parts, bytes),
      path: join(this.root, ...entry.parts),
      end,
      hashing: this.opts.manifest?.start(entry.name, { hash, bytes }),
    };
  }

  private async continueFile(file: Continuing, piece: Uint8Array, at: number): Promise<void> {
    try {
      await this.opts.io.write(file.handle, piece);
      file.hashing?.update(piece);
      if (at + piece.length === file.end) {
        this.continuing = undefined;
        await file.handle.close();
        file.hashing?.end();
      }
    } catch (err) {
      this.failWith(fileError(err, 'write', file.path));
      await this.check();
    }
    this.advance(at + piece.length, file.path);
  }

  private async writeEntry(header: Header, stream: AsyncIterable<Uint8Array>): Promise<void> {
    if (++this.entries > this.opts.maxEntries) {
      throw createError('UNSAFE_PATH', `the folder has more than ${this.opts.maxEntries} entries`, {
        hint: 'The receiver limits how many entries a folder may have; ask for an archive of it instead.',
      });
    }
    const kind = entryKind(header.name, header.type);
    if (kind instanceof PortunusError) throw kind;
    const mapped = this.layout.parts(header.name, kind);
    if (mapped instanceof PortunusError) throw mapped;
    const { parts, top } = mapped;
    if (kind !== 'file' && header.size > 0) throw createError('PROTOCOL', 'a folder or link entry carries data');
    if (kind === 'symlink') {
      const bad = checkLinkTarget(header.name, header.linkname ?? '', parts.slice(top));
      if (bad !== undefined) throw bad;
    }
    // Where the entry's data starts in the stream (tar-stream's offset counts from the extractor's first byte).
    const start = this.base + (header as Header & { byteOffset: number }).byteOffset;
    const size = kind === 'file' ? (header.size ?? 0) : 0;
    await this.journaled(header, kind, parts, start, size);
    if (kind === 'directory') await this.tree.directory(header.name, parts);
    if (kind === 'symlink') await this.tree.symlink(header.name, parts, header.linkname!);
    if (kind !== 'file') return this.advance(start);
    this.files += 1;
    this.bytes += size;
    if (this.files > this.offer.files || this.bytes > this.offer.bytes) {
      throw createError('PROTOCOL', 'the folder holds more files or bytes than offered');
    }
    const data = this.opts.manifest?.hashing(header.name, stream) ?? stream;
    const path = join(this.root, ...parts);
    const written = async (n: number): Promise<void> => this.advance(start + n, path);
    await this.tree.file(header.name, parts, (header.mode! & 0o111) !== 0, data, written);
    this.advance(start + size, path);
  }

  /** A resumable receive lists the entry, and the stream's bytes before its data, before creating it. */
  private async journaled(header: Header, kind: EntryKind, parts: string[], start: number, size: number) {
    if (this.journal === undefined) return;
    const meta = this.meta!.entry(start, size);
    const link = kind === 'symlink' ? { link: header.linkname! } : {};
    await this.journal.append({ name: header.name, kind, parts, start, size, ...link, meta });
  }

  /** The part holds the stream up to `position` (and `file` was written to): a checkpoint when one is due. */
  private advance(position: number, file?: string): void {
    this.position = position;
    if (file !== undefined) this.dirty.add(file);
    const journal = this.journal;
    if (journal === undefined) return;
    this.length = journal.written;
    if (this.checkpointing !== undefined || position - journal.bytes < CHECKPOINT_BYTES) return;
    this.checkpointing = this.checkpoint()
      .catch((err: unknown) => this.failWith(err))
      .finally(() => {
        this.checkpointing = undefined;
      });
  }

  /** Syncs what was written since the last checkpoint, then records how far the part holds the stream. */
  private async checkpoint(): Promise<void> {
    const [position, length, files] = [this.position, this.length, [...this.dirty]];
    this.dirty.clear();
    for (const path of files) await syncFile(path);
    await this.journal!.checkpoint(position, length);
  }

  /** Resolves on `event`, or when the extractor closes or fails (the caller then checks `failure`). */
  private settled(event: 'drain' | 'finish'): Promise<void> {
    if (this.extract.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        for (const name of [event, 'close', 'error'] as const) this.extract.off(name, done);
        resolve();
      };
      for (const name of [event, 'close', 'error'] as const) this.extract.on(name, done);
    });
  }

  private failWith(err: unknown): void {
    this.failure ??= tarError(err);
  }

  /** Throws the recorded failure once everything written is removed. */
  private async check(): Promise<void> {
    if (this.failure !== undefined) {
      await this.discard();
      throw this.failure;
    }
    if (this.state !== 'open') throw createError('INTERNAL', `the folder sink is already ${this.state}`);
  }

  private discard(): Promise<void> {
    this.discarding ??= (async () => {
      this.state = 'discarded';
      this.extract.destroy();
      await this.current;
      await this.continuing?.handle.close().catch(() => {});
      await this.checkpointing;
      await rm(this.root, { recursive: true, force: true }).catch((err: unknown) => {
        this.opts.onWarning(fileError(err, 'remove the partial folder', this.root).message);
      });
      await this.removeJournal();
    })();
    return this.discarding;
  }

  private async removeJournal(): Promise<void> {
    if (this.journal === undefined) return;
    await this.journal.close();
    await unlink(this.journal.path).catch(() => {});
  }
}

/** Makes a file's data so far durable (a checkpoint counts it). */
async function syncFile(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, constants.O_RDWR | (constants.O_NOFOLLOW ?? 0));
    await handle.sync();
  } catch (err) {
    throw fileError(err, 'write', path);
  } finally {
    await handle?.close();
  }
}
