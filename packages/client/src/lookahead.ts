/** A chunk of the data stream, and whether it is the last. */
export interface Chunk {
  chunk: Uint8Array;
  final: boolean;
}

/**
 * The source read one chunk ahead, without blocking the sender: `peek()` shows the next chunk (the last one marked
 * final; one empty final chunk for empty data) once it is there, undefined while the source is still producing, or
 * the source's error; `take()` consumes it and starts reading the one after.
 */
export class Lookahead {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private ready: Chunk | Error | undefined;
  private held: Uint8Array | undefined;
  private done = false;
  private reading = false;

  constructor(
    chunks: AsyncIterable<Uint8Array>,
    private readonly onReady: () => void,
  ) {
    this.iterator = chunks[Symbol.asyncIterator]();
    this.read();
  }

  peek(): Chunk | Error | undefined {
    return this.ready;
  }

  take(): void {
    if (this.ready === undefined || this.ready instanceof Error) return;
    this.ready = undefined;
    this.read();
  }

  stop(): void {
    this.done = true;
    void this.iterator.return?.().catch(() => undefined);
  }

  /** Reads until one chunk can be handed out: a chunk is final only once the one after it is known not to exist. */
  private read(): void {
    if (this.reading || this.done || this.ready !== undefined) return;
    this.reading = true;
    void (async () => {
      try {
        while (this.ready === undefined && !this.done) {
          const next = await this.iterator.next();
          if (next.done === true) {
            this.done = true;
            this.ready = { chunk: this.held ?? new Uint8Array(0), final: true };
          } else if (this.held === undefined) {
            this.held = next.value;
          } else {
            this.ready = { chunk: this.held, final: false };
            this.held = next.value;
          }
        }
      } catch (err) {
        this.ready = err instanceof Error ? err : new Error(String(err));
      } finally {
        this.reading = false;
        this.onReady();
      }
    })();
  }
}
