/**
 * Keeps the tar stream's bytes that are not file data — headers, pax records, padding — as they arrive, so the
 * journal (tar-journal.ts) can hold them: with the files on disk they make the exact stream again. Memory stays
 * small: file data is dropped as soon as the extractor says where an entry's data lies, and what arrives before
 * that is at most one chunk and the extractor's buffer.
 */
export class MetaTracker {
  /** Copies of the stream's bytes from `from` on, in order. */
  private kept: Uint8Array[] = [];
  private from: number;

  /** `start`: where the stream's bytes stop being an entry's data (0, or the end of a resumed file's data). */
  constructor(start: number) {
    this.from = start;
  }

  /** The stream's bytes at offset `at`, as they arrive. */
  see(chunk: Uint8Array, at: number): void {
    const skip = this.from - at;
    if (skip >= chunk.length) return;
    // A copy: the caller may reuse its buffer.
    this.kept.push(chunk.slice(Math.max(skip, 0)));
  }

  /**
   * An entry whose data lies at [start, start + size): returns the bytes before it since the previous entry's data,
   * and from now on keeps only what follows its data.
   */
  entry(start: number, size: number): Uint8Array {
    const all = Buffer.concat(this.kept);
    const meta = new Uint8Array(all.subarray(0, start - this.from));
    const end = start + size;
    this.kept = end - this.from < all.length ? [all.subarray(end - this.from)] : [];
    this.from = end;
    return meta;
  }
}
