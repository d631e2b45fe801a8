/** Where received data goes: a file, a folder, stdout in the CLI; a file on disk or a download in the page. */
export interface Sink {
  /** Resolves once the chunk is written or safely buffered within a bounded amount (backpressure). */
  write(chunk: Uint8Array): Promise<void>;
  /** Checks the data is complete, makes it durable and moves it into place; returns where it went ('-' for stdout). */
  commit(): Promise<string>;
  /** Removes everything written so far. Does nothing after commit, or after a failure already cleaned up. */
  abort(): Promise<void>;
}
