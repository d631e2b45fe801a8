/**
 * The resumable side of a tar receive (PROTOCOL.md §4.12): every entry is journaled (tar-journal.ts) before it is
 * created, with the stream's bytes before its data (MetaTracker); as data reaches the part the sink says how far
 * the part holds the stream, and at least every CHECKPOINT_BYTES the files written since the last checkpoint and
 * the journal are synced, then the journal's state records that offset. One checkpoint runs at a time, behind the
 * data: the writes go on meanwhile, and the record names only what was synced.
 */
import { constants } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import type { EntryKind } from './entry-check.js';
import { fileError } from './fs-errors.js';
import { CHECKPOINT_BYTES } from './resume-state.js';
import type { JournalEntry, TarJournal } from './tar-journal.js';
import { MetaTracker } from './tar-meta.js';

/** Files synced at the same time at a checkpoint (each holds a descriptor meanwhile). */
const SYNCS_AT_ONCE = 16;

export class TarCheckpoints {
  private meta: MetaTracker;
  /** How far the part holds the stream, and the journal's length then: set below. */
  /** Files written since the last checkpoint. */
  private readonly dirty = new Set<string>();
  private running: Promise<void> | undefined;
  /** Files written in full, each being synced and closed through the handle that wrote it (at most SYNCS_AT_ONCE). */
  private readonly syncing = new Set<Promise<void>>();
  /** A sync that failed: no later checkpoint may count its file. */
  private syncFailure: unknown;

  private position = 0;
  private length = 0;

  constructor(
    private readonly journal: TarJournal,
    private readonly onError: (err: unknown) => void,
  ) {
    this.meta = new MetaTracker(0);
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

  /** The part holds the stream up to `position` (and `file` was written to): a checkpoint when one is due. */
  advance(position: number, file?: string): void {
    this.position = position;
    this.length = this.journal.written;
    if (file !== undefined) this.dirty.add(file);
    if (this.running !== undefined || position - this.journal.bytes < CHECKPOINT_BYTES) return;
    this.running = this.checkpoint()
      .catch((err: unknown) => this.onError(err))
      .finally(() => {
        this.running = undefined;
      });
  }

  /**
   * A file written in full: synced and closed through the handle that wrote it, in the background, while the next
   * entries arrive (a checkpoint waits for it). Reopening each file at the checkpoint to sync it cost two more
   * system calls per file, and the syncs came in bursts. Waits while SYNCS_AT_ONCE are running.
   */
  async finished(path: string, handle: FileHandle): Promise<void> {
    this.dirty.delete(path);
    while (this.syncing.size >= SYNCS_AT_ONCE) await Promise.race(this.syncing);
    const sync = syncAndClose(path, handle)
      .catch((err: unknown) => {
        this.syncFailure ??= err;
        this.onError(err);
      })
      .finally(() => this.syncing.delete(sync));
    this.syncing.add(sync);
  }

  /** Waits for the checkpoint running, if any. */
  async settled(): Promise<void> {
    await this.running;
  }

  /** The receive ends for an interruption: records how far the part holds the stream; returns that. */
  async last(): Promise<number> {
    await this.running;
    await Promise.all(this.syncing);
    if (this.position > this.journal.bytes) await this.checkpoint().catch(() => {});
    await this.journal.close();
    return this.journal.bytes;
  }

  /** Forgets everything (the part is emptied to start over). */
  async reset(): Promise<void> {
    await this.running;
    await Promise.all(this.syncing);
    await this.journal.reset();
    this.position = this.length = 0;
    this.meta = new MetaTracker(0);
    this.dirty.clear();
  }

  /** The receive committed or failed: the journal goes. */
  async remove(): Promise<void> {
    await this.running;
    await Promise.all(this.syncing);
    await this.journal.close();
    await unlink(this.journal.path).catch(() => {});
  }

  /** Syncs what was written since the last checkpoint, then records how far the part holds the stream. */
  private async checkpoint(): Promise<void> {
    const [position, length, files] = [this.position, this.length, [...this.dirty]];
    // Every file finished so far (each one before `position`) is being synced through its own handle.
    const finished = [...this.syncing];
    this.dirty.clear();
    // Several at once: the file system commits concurrent syncs together (one journal commit for many small files).
    for (let i = 0; i < files.length; i += SYNCS_AT_ONCE) {
      await Promise.all(files.slice(i, i + SYNCS_AT_ONCE).map(syncFile));
    }
    await Promise.all(finished);
    if (this.syncFailure !== undefined) throw this.syncFailure;
    await this.journal.checkpoint(position, length);
  }
}

/** Makes a file written in full durable, and closes it. */
async function syncAndClose(path: string, handle: FileHandle): Promise<void> {
  try {
    await handle.sync();
  } catch (err) {
    throw fileError(err, 'write', path);
  } finally {
    await handle.close().catch(() => {});
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
