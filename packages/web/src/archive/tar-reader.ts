/**
 * A push parser for the tar stream of a folder offer (PROTOCOL.md §4.5): bytes go in as they arrive, events come
 * out, nothing is buffered beyond one header block or one pax header (MAX_PAX_BYTES). File data is handed on as
 * views of the pushed chunk, valid until the next push. Pax `path`, `linkpath` and `size` records apply to the next
 * entry; global pax headers and GNU long names are refused, since the CLI never writes them.
 */
import { TAR_BLOCK, tarPadding } from '@portunus/client';
import { decodeHeader, decodePax, tarError, type TarHeader } from './tar-header.js';

/** A pax header holds one path and one link target of at most 4,096 bytes each, and their record framing. */
export const MAX_PAX_BYTES = 16 * 1024;

export interface TarEntryHeader {
  name: string;
  /** The ustar typeflag ('0' regular file, '5' directory, '2' symlink, …), '0' also for old-style files. */
  typeflag: string;
  size: number;
  mode: number;
  mtime: number;
  linkname: string;
}

export type TarEvent =
  | { type: 'entry'; header: TarEntryHeader }
  | { type: 'data'; bytes: Uint8Array }
  | { type: 'entry-end' }
  | { type: 'end' };

type State =
  | { kind: 'header' }
  | { kind: 'pax'; size: number }
  | { kind: 'body'; left: number; padding: number }
  | { kind: 'padding'; left: number }
  | { kind: 'second-zero' }
  | { kind: 'done' };

export class TarReader {
  private state: State = { kind: 'header' };
  /** Collects a header block or pax data across chunks. */
  private pending = new Uint8Array(TAR_BLOCK);
  private filled = 0;
  private pax: Map<string, string> | undefined;

  /** Parses `chunk`; throws a PortunusError (PROTOCOL) on anything that is not a valid tar. */
  push(chunk: Uint8Array): TarEvent[] {
    const events: TarEvent[] = [];
    let offset = 0;
    while (offset < chunk.length) offset = this.step(chunk, offset, events);
    return events;
  }

  /** Checks that the archive ended with its two zero blocks. */
  finish(): void {
    if (this.state.kind !== 'done') throw tarError('it ended before the end of the archive');
  }

  private step(chunk: Uint8Array, offset: number, events: TarEvent[]): number {
    const state = this.state;
    switch (state.kind) {
      case 'body': {
        const n = Math.min(state.left, chunk.length - offset);
        events.push({ type: 'data', bytes: chunk.subarray(offset, offset + n) });
        state.left -= n;
        if (state.left === 0) {
          events.push({ type: 'entry-end' });
          this.state = { kind: 'padding', left: state.padding };
        }
        return offset + n;
      }
      case 'padding': {
        const n = Math.min(state.left, chunk.length - offset);
        state.left -= n;
        if (state.left === 0) this.state = { kind: 'header' };
        return offset + n;
      }
      case 'done': {
        // Readers may pad an archive with zero blocks; anything else after the end is not ours.
        for (let i = offset; i < chunk.length; i++) if (chunk[i] !== 0) throw tarError('data follows the end');
        return chunk.length;
      }
      default:
        return this.collect(chunk, offset, events);
    }
  }

  /** Fills `pending` up to a block (or the pax size padded to blocks), then handles it. */
  private collect(chunk: Uint8Array, offset: number, events: TarEvent[]): number {
    const want = this.state.kind === 'pax' ? this.state.size + tarPadding(this.state.size) : TAR_BLOCK;
    const n = Math.min(want - this.filled, chunk.length - offset);
    this.pending.set(chunk.subarray(offset, offset + n), this.filled);
    this.filled += n;
    if (this.filled === want) {
      this.filled = 0;
      this.complete(events);
    }
    return offset + n;
  }

  private complete(events: TarEvent[]): void {
    const state = this.state;
    if (state.kind === 'pax') {
      this.pax = decodePax(this.pending.subarray(0, state.size));
      this.pending = new Uint8Array(TAR_BLOCK);
      this.state = { kind: 'header' };
      return;
    }
    const header = decodeHeader(this.pending);
    if (header === undefined) {
      if (this.pax !== undefined) throw tarError('a pax header is not followed by an entry');
      if (state.kind === 'second-zero') {
        this.state = { kind: 'done' };
        events.push({ type: 'end' });
      } else this.state = { kind: 'second-zero' };
      return;
    }
    if (state.kind === 'second-zero') throw tarError('an entry follows a zero block');
    this.header(header, events);
  }

  private header(raw: TarHeader, events: TarEvent[]): void {
    if (raw.typeflag === 'x') {
      if (this.pax !== undefined) throw tarError('two pax headers in a row');
      if (raw.size > MAX_PAX_BYTES) throw tarError(`a pax header is larger than ${MAX_PAX_BYTES} bytes`);
      this.pending = new Uint8Array(raw.size + tarPadding(raw.size));
      this.state = { kind: 'pax', size: raw.size };
      if (raw.size === 0) this.complete(events);
      return;
    }
    if (raw.typeflag === 'g' || raw.typeflag === 'L' || raw.typeflag === 'K') {
      throw tarError(`header type '${raw.typeflag}' (global pax or GNU long name) is not used by Portunus`);
    }
    const header = this.applyPax(raw);
    events.push({ type: 'entry', header });
    if (header.size === 0) {
      events.push({ type: 'entry-end' });
      this.state = { kind: 'header' };
    } else this.state = { kind: 'body', left: header.size, padding: tarPadding(header.size) };
  }

  private applyPax(raw: TarHeader): TarEntryHeader {
    const pax = this.pax;
    this.pax = undefined;
    let size = raw.size;
    const paxSize = pax?.get('size');
    if (paxSize !== undefined) {
      if (!/^(0|[1-9][0-9]{0,15})$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) {
        throw tarError('a pax size is not a number');
      }
      size = Number(paxSize);
    }
    // An old-style header marks a directory by a trailing '/' on a regular file (as tar-stream reads it too).
    const name = pax?.get('path') ?? raw.name;
    const typeflag =
      raw.typeflag === '\0' || (raw.typeflag === '0' && name.endsWith('/')) ? fileOrDir(name) : raw.typeflag;
    return { name, typeflag, size, mode: raw.mode, mtime: raw.mtime, linkname: pax?.get('linkpath') ?? raw.linkname };
  }
}

function fileOrDir(name: string): string {
  return name.endsWith('/') ? '5' : '0';
}

/** The events of a whole tar stream, for callers that pull (each data view is valid until the next step). */
export async function* readTar(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<TarEvent> {
  const reader = new TarReader();
  for await (const chunk of chunks) yield* reader.push(chunk);
  reader.finish();
}
