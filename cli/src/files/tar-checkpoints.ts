/**
 * The resumable side of a tar receive (PROTOCOL.md §4.12): every entry is journaled (tar-journal.ts) before it is
 * created, with the stream's bytes before its data (MetaTracker); as data reaches the part the sink says how far
 * the part holds the stream, and at least every checkpointInterval(size) bytes the journal is synced, then its state
 * records that offset. One checkpoint runs at a time, behind the data: the writes go on meanwhile.
 *
 * The files themselves are not synced one by one. A resume never trusts them anyway: it rebuilds the tar prefix from
 * the files on disk and the sender compares its SHA-256 with its own, so data a power loss took is found and the
 * transfer starts over (`mismatch`), never wrong. A kill of the process loses nothing the kernel was given. Syncing
 * each file before a checkpoint counted it made 10,000 small files 2.3x slower (18.7 s against 8.2 s, the
 * receiver's time mostly in the kernel's journal commits) for a better chance of resuming after a power loss only.
 */
import { unlink, type FileHandle } from 'node:fs/promises';
import type { EntryKind } from './entry-check.js';
import { fileError } from './fs-errors.js';
import { checkpointInterval } from './resume-state.js';
import type { JournalEntry, TarJournal } from './tar-journal.js';
import { MetaTracker } from './tar-meta.js';

export class TarCheckpoints {
  private meta: MetaTracker;
  /** How far the part holds the stream, and the journal's length then: set below. */
  private running: Promise<void> | undefined;

  private position = 0;
  private length = 0;

  /** Stream bytes between two checkpoints. */
  private readonly interval: number;

  constructor(
    private readonly journal: TarJournal,
    private readonly onError: (err: unknown) => void,
    /** The tar stream's size (the offer's). */
    size: number,
  ) {
    this.meta = new MetaTracker(0);
    this.interval = checkpointInterval(size);
  }

  /**
   * A part taken over: how much of the stream it holds, the journal's length, and where the last entry's data ends
   * (the stream's bytes after it are not data).
   */
  resume(from: { bytes: number; length: number; dataEnd: number }): void {
    this.position = from.bytes;
    this.length = from.length;
    this.meta = new MetaTracker(from.dataEnd);
  }

  /** Stream bytes the last checkpoint recorded. */
  get bytes(): number {
    return this.journal.bytes;
  }

  /** The stream's bytes at offset `at`, as they arrive. */
  see(chunk: Uint8Array, at: number): void {
    this.meta.see(chunk, at);
  }

  /** Journals an entry whose data lies at [start, start + size), before it is created. */
  async entry(entry: { name: string; kind: EntryKind; parts: string[]; start: number; size: number; link?: string }) {
    const record: JournalEntry = { ...entry, meta: this.meta.entry(entry.start, entry.size) };
    await this.journal.append(record);
  }

  /** The part holds the stream up to `position`: a checkpoint when one is due. */
  advance(position: number): void {
    this.position = position;
    this.length = this.journal.written;
    if (this.running !== undefined || position - this.journal.bytes < this.interval) return;
    this.running = this.checkpoint()
      .catch((err: unknown) => this.onError(err))
      .finally(() => {
        this.running = undefined;
      });
  }

  /** A file written in full: closed (a failure to close is a write error: the data may not have been stored). */
  async finished(path: string, handle: FileHandle): Promise<void> {
    try {
      await handle.close();
    } catch (err) {
      throw fileError(err, 'write', path);
    }
  }

  /** Waits for the checkpoint running, if any. */
  async settled(): Promise<void> {
    await this.running;
  }

  /** The receive ends for an interruption: records how far the part holds the stream; returns that. */
  async last(): Promise<number> {
    await this.running;
    if (this.position > this.journal.bytes) await this.checkpoint().catch(() => {});
    await this.journal.close();
    return this.journal.bytes;
  }

  /** Forgets everything (the part is emptied to start over). */
  async reset(): Promise<void> {
    await this.running;
    await this.journal.reset();
    this.position = this.length = 0;
    this.meta = new MetaTracker(0);
  }

  /** The receive committed or failed: the journal goes. */
  async remove(): Promise<void> {
    await this.running;
    await this.journal.close();
    await unlink(this.journal.path).catch(() => {});
  }

  /** Makes the journal so far durable, then records how far the part holds the stream. */
  private async checkpoint(): Promise<void> {
    await this.journal.checkpoint(this.position, this.length);
  }
}
