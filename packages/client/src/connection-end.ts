/**
 * How a relay connection ends: the first cause wins (null when this side closed it), every wait still under way
 * rejects with it, and `closed` resolves once. Waits go through `until`, so none can outlive the connection.
 */
import { createError, type PortunusError } from '@portunus/protocol';

export class ConnectionEnd {
  /** undefined while open, null when this side closed it, else the error that ended it. */
  cause: PortunusError | null | undefined;
  /** Resolves when the connection has closed: undefined after a close by this side, else the error. */
  readonly closed: Promise<PortunusError | undefined>;
  private resolveClosed!: (err: PortunusError | undefined) => void;
  private done = false;
  private readonly waiters = new Set<(err: PortunusError) => void>();

  constructor() {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** The socket is gone and every wait has been told. */
  get settled(): boolean {
    return this.done;
  }

  /** What a call made after the end throws. */
  get error(): PortunusError {
    return this.cause ?? createError('INTERRUPTED', 'relay connection closed');
  }

  /** Runs `start`, resolving with what it reports, or rejecting when the connection ends first. */
  until<T>(start: (resolve: (value: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onEnd = (err: PortunusError): void => reject(err);
      this.waiters.add(onEnd);
      start((value) => {
        this.waiters.delete(onEnd);
        resolve(value);
      });
    });
  }

  /** The socket has closed: rejects every wait and resolves `closed` (once). Returns false if it already had. */
  settle(): boolean {
    if (this.done) return false;
    this.done = true;
    for (const onEnd of this.waiters) onEnd(this.error);
    this.waiters.clear();
    this.resolveClosed(this.cause ?? undefined);
    return true;
  }
}
