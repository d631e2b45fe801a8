/**
 * Converts the tar stream of a folder offer into a zip as it arrives, so a folder sent from the CLI is saved in the
 * browser as one file that Windows and macOS open without extra tools. Every entry is checked (folder-entries.ts)
 * before its zip header is written; file data passes through untouched, so memory holds one tar header and the zip's
 * central directory, never the data.
 */
import { FolderEntries, type TarOffer } from './folder-entries.js';
import { TarReader } from './tar-reader.js';
import { ZipWriter } from './zip-writer.js';

export class TarToZip {
  private readonly reader = new TarReader();
  private readonly entries: FolderEntries;
  private readonly zip = new ZipWriter();

  constructor(offer: TarOffer, maxEntries?: number) {
    this.entries = new FolderEntries(offer, maxEntries);
  }

  /** The zip bytes that `chunk` of tar makes; data views are valid until the next push. Throws on a bad entry. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const event of this.reader.push(chunk)) {
      if (event.type === 'entry') {
        const entry = this.entries.check(event.header);
        out.push(
          this.zip.begin({
            path: entry.path,
            directory: entry.kind === 'directory',
            size: entry.size,
            executable: entry.executable,
            mtime: entry.mtime,
          }),
        );
      } else if (event.type === 'data') out.push(this.zip.data(event.bytes));
      else if (event.type === 'entry-end') out.push(this.zip.end());
    }
    return out;
  }

  /** The zip's last bytes, once the tar has ended and held what the offer said. */
  finish(): Uint8Array {
    this.reader.finish();
    this.entries.finish();
    return this.zip.finish();
  }
}

/** The zip of a whole tar stream, for callers that pull. */
export async function* tarToZip(tar: AsyncIterable<Uint8Array>, offer: TarOffer): AsyncGenerator<Uint8Array> {
  const converter = new TarToZip(offer);
  for await (const chunk of tar) yield* converter.push(chunk);
  yield converter.finish();
}
