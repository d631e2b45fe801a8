/**
 * A receiver's local file problem is told to the sender by its code only: the message the user here sees names
 * this computer's paths ("no space left to write /home/ana/Downloads/x"), which are none of the sender's business.
 * Work that may fail locally runs through guard(): a failure with a local code is replaced by a copy whose message
 * names no path (that copy is what the session seals into its `error` message), and reveal() gives the original
 * back for the local report.
 */
import { createError, PortunusError, type ErrorCode } from '../protocol.js';
import type { Sink } from './sink.js';

/** What the sender reads after "the other side failed (<code>): ". */
const FOR_PEER: Partial<Record<ErrorCode, string>> = {
  FILE_ERROR: 'it could not write the data (a file problem on its side)',
  FILE_EXISTS: 'it already has a file or folder by that name',
  DISK_FULL: 'no space left on its disk',
};

export class LocalFailures {
  /** Copies handed out, to their originals; at most a few per transfer (each ends it). */
  private readonly originals = new Map<PortunusError, PortunusError>();

  /** The error to hand to the session: a path-free copy when `err` is a local file problem, else `err` itself. */
  hide(err: unknown): unknown {
    if (!(err instanceof PortunusError)) return err;
    const text = FOR_PEER[err.code];
    if (text === undefined) return err;
    const copy = createError(err.code, text, { hint: err.hint });
    this.originals.set(copy, err);
    return copy;
  }

  /** The error to report here: the original of a copy made by hide(), else `err` itself. */
  reveal(err: unknown): unknown {
    return err instanceof PortunusError ? (this.originals.get(err) ?? err) : err;
  }

  /** `work`, failing through hide(). */
  async guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      throw this.hide(err);
    }
  }

  /** A sink whose failures reach the session through hide(). */
  sink(inner: Sink): Sink {
    return {
      write: (chunk) => this.guard(inner.write(chunk)),
      commit: () => this.guard(inner.commit()),
      abort: () => inner.abort(),
    };
  }
}
