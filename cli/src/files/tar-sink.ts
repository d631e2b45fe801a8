/**
 * A received tar (a folder or a bundle): parsed by tar-stream `extract`, each entry validated (entry-check) before
 * TreeWriter creates it inside a `.part` folder beside the target (temp-path.ts), which the layout puts in place on
 * commit. Any failure removes the whole temporary folder. Memory stays bounded: write() waits for the extractor to
 * drain, and the extractor waits for each file's data to reach the disk.
 *
 * With a journal (tar-journal.ts) the receive is resumable (PROTOCOL.md §4.12): TarCheckpoints journals every entry,
 * records how far the part holds the stream, and syncs and closes each file written. keep() leaves both for a later
 * receive, which continues from a rebuilt prefix (tar-resume.ts): the file the prefix ends in first, then the rest.
 */
import { chmod, readdir, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Header } from 'tar-stream';
import { tarStream } from '../lazy-deps.js';
import { createError, PortunusError } from '@portunus/protocol';
import { checkLinkTarget, entryKind } from './entry-check.js';
import { fileError } from './fs-errors.js';
import { syncParent } from './place.js';
import type { ResumableSink } from './sink.js';
import { TarCheckpoints } from './tar-checkpoints.js';
import type { TarJournal } from './tar-journal.js';
import { tarError, type TarLayout, type TarOffer, type TarResume, type TarSinkOptions } from './tar-layout.js';
import { CutFile, type TarPrefix } from './tar-resume.js';
import { streamOf } from './rechunk.js';
import { TreeWriter } from './tree-writer.js';
export type { TarLayout, TarOffer, TarResume, TarSinkOptions } from './tar-layout.js';

const padded = (offset: number): number => Math.ceil(offset / 512) * 512;

/**
 * Files up to this size are written in the background, up to WRITES_AT_ONCE at a time, while the extractor goes on
 * (writeSmall): one after the other, each file's open, write and close waited on libuv's thread pool in turn, and
 * 10,000 small files took the receiver seconds of waiting. At most 16 × 64 KiB wait in memory.
 */
const SMALL_FILE_BYTES = 64 * 1024;
const WRITES_AT_ONCE = 16;

export class TarSink implements ResumableSink {
  private readonly extract = tarStream().extract();
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
  /** Background writes of small files not yet settled (writeSmall). */
  private readonly writing = new Set<Promise<boolean>>();
  /**
   * Settles once every background write so far has settled and the checkpoints were told of each in stream order;
   * false once one failed (its failure is recorded, and nothing after it is counted).
   */
  private writes: Promise<boolean> = Promise.resolve(true);
  private discarding: Promise<void> | undefined;
  private continuing: CutFile | undefined;
  private checkpoints: TarCheckpoints | undefined;
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
    journal: TarJournal | undefined,
  ) {
    this.tree = new TreeWriter(root, opts.umask, opts.io);
    if (journal !== undefined) this.checkpoints = new TarCheckpoints(journal, (err) => this.failWith(err), offer.size);
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
    this.checkpoints?.see(chunk, at);
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
    await this.writes;
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
    await this.checkpoints?.settled();
    let placed = '';
    try {
      await chmod(this.root, (0o755 & ~this.opts.umask) | 0o700);
      placed = await this.layout.place(this.root);
    } catch (err) {
      this.failWith(fileError(err, 'create', this.root));
      await this.check();
    }
    this.state = 'committed';
    await this.checkpoints?.remove();
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
    await this.continuing?.close();
    this.continuing = undefined;
    try {
      for (const name of await readdir(this.root)) await rm(join(this.root, name), { recursive: true, force: true });
      await this.checkpoints?.reset();
    } catch (err) {
      this.failWith(fileError(err, 'write', this.root));
      await this.check();
    }
    this.tree = new TreeWriter(this.root, this.opts.umask, this.opts.io);
    this.received = this.base = this.entries = this.files = this.bytes = 0;
    this.prefixBytes = 0;
    this.opts.manifest?.clear();
  }

  /**
   * Ends the receive but keeps the part and its journal for a later one (an interruption), when it is resumable and
   * holds data: returns the part and how much of the stream it holds; otherwise the same as abort(), and undefined.
   */
  async keep(): Promise<{ path: string; bytes: number } | undefined> {
    if (this.state !== 'open') return undefined;
    const checkpoints = this.checkpoints;
    if (checkpoints === undefined || this.failure !== undefined) {
      await this.discard();
      return undefined;
    }
    this.state = 'kept';
    this.extract.destroy();
    await this.current;
    await this.writes;
    await this.continuing?.close();
    const bytes = await checkpoints.last();
    if (bytes > 0) return { path: this.root, bytes };
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
    this.received = this.prefixBytes = prefix.bytes;
    const last = prefix.entries[prefix.entries.length - 1]!;
    const end = last.start + last.size;
    this.checkpoints?.resume({ bytes: prefix.bytes, length: prefix.length, dataEnd: end });
    this.base = padded(end);
    if (prefix.current === undefined) return;
    const { entry, bytes, hash } = prefix.current;
    const handle = await this.tree.reopen(entry.name, entry.parts, bytes);
    const hashing = this.opts.manifest?.start(entry.name, { hash, bytes });
    this.continuing = new CutFile(handle, join(this.root, ...entry.parts), end, hashing);
  }

  private async continueFile(file: CutFile, piece: Uint8Array, at: number): Promise<void> {
    try {
      if (await file.write(piece, at, this.opts.io)) this.continuing = undefined;
    } catch (err) {
      this.failWith(fileError(err, 'write', file.path));
      await this.check();
    }
    this.checkpoints?.advance(at + piece.length);
  }

  private async writeEntry(header: Header, stream: AsyncIterable<Uint8Array>): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
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
    const link = kind === 'symlink' ? { link: header.linkname! } : {};
    await this.checkpoints?.entry({ name: header.name, kind, parts, start, size, ...link });
    if (kind === 'file') {
      this.files += 1;
      this.bytes += size;
      if (this.files > this.offer.files || this.bytes > this.offer.bytes) {
        throw createError('PROTOCOL', 'the folder holds more files or bytes than offered');
      }
    }
    const data = kind === 'file' ? (this.opts.manifest?.hashing(header.name, stream) ?? stream) : stream;
    const executable = (header.mode! & 0o111) !== 0;
    if (kind === 'file' && size <= SMALL_FILE_BYTES)
      return this.writeSmall(header.name, parts, executable, data, start);
    // Anything else is created in its turn, once the background writes before it settled: the checkpoints count
    // the stream in order, and this entry's progress must not count a file still being written.
    if (!(await this.writes)) throw this.failure!;
    if (kind === 'directory') await this.tree.directory(header.name, parts);
    if (kind === 'symlink') await this.tree.symlink(header.name, parts, header.linkname!);
    if (kind !== 'file') return this.checkpoints?.advance(start);
    const [path, cp] = [join(this.root, ...parts), this.checkpoints];
    const written = async (n: number): Promise<void> => cp?.advance(start + n);
    const finished = cp === undefined ? undefined : (h: FileHandle) => cp.finished(path, h);
    await this.tree.file(header.name, parts, executable, data, written, finished);
    cp?.advance(start + size);
  }

  /**
   * A small file: its data is taken from the extractor now, and the file is written in the background (at most
   * WRITES_AT_ONCE at once) while the next entries come. The checkpoints hear of it only once it and every write
   * before it are done; a failure is recorded and ends the receive at its next step.
   */
  private async writeSmall(
    name: string,
    parts: string[],
    executable: boolean,
    data: AsyncIterable<Uint8Array>,
    start: number,
  ): Promise<void> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of data) (chunks.push(chunk), (size += chunk.length));
    while (this.writing.size >= WRITES_AT_ONCE) await Promise.race(this.writing);
    const [path, cp] = [join(this.root, ...parts), this.checkpoints];
    const finished = cp === undefined ? undefined : (h: FileHandle) => cp.finished(path, h);
    const write = this.tree.file(name, parts, executable, streamOf(chunks), undefined, finished).then(
      () => true,
      (err: unknown) => (this.failWith(err), false),
    );
    this.writing.add(write);
    void write.then(() => this.writing.delete(write));
    this.writes = Promise.all([this.writes, write]).then(([before, ok]) => {
      if (before && ok) cp?.advance(start + size);
      return before && ok;
    });
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
      // No write may create a file after the folder is removed.
      await this.writes;
      await this.continuing?.close();
      await this.checkpoints?.settled();
      await rm(this.root, { recursive: true, force: true }).catch((err: unknown) => {
        this.opts.onWarning(fileError(err, 'remove the partial folder', this.root).message);
      });
      await this.checkpoints?.remove();
    })();
    return this.discarding;
  }
}
