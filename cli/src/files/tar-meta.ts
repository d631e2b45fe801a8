/**
 * Keeps the tar stream's bytes that are not file data — headers, pax records, padding — as they arrive, so the
 * journal (tar-journal.ts) can hold them: with the files on disk they make the exact stream again. Memory stays
 * small: file data is dropped as soon as the extractor says where an entry's data lies, and what arrives before
 * that is at most one chunk and the extractor's buffer. Each entry costs only its own bytes (a chunk holding many
 * small entries is copied once, then cut by reference).
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
    const meta = new Uint8Array(start - this.from);
    let filled = 0;
    // Drops everything before the data's end; the piece it ends in is cut, not copied.
    let drop = start + size - this.from;
    while (this.kept.length > 0 && drop > 0) {
      const piece = this.kept[0]!;
      if (filled < meta.length) {
        const part = piece.subarray(0, meta.length - filled);
        meta.set(part, filled);
        filled += part.length;
      }
      if (piece.length > drop) {
        this.kept[0] = piece.subarray(drop);
        drop = 0;
      } else {
        this.kept.shift();
        drop -= piece.length;
      }
    }
    this.from = start + size;
    return meta;
  }
}
