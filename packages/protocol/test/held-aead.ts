/**
 * An asynchronous DataAead for tests: a synchronous Aead whose every result is held back until the test lets it go,
 * in whatever order the test picks, as WebCrypto's promises may settle in any order.
 */
import type { Aead, DataAead } from '../src/aead.js';

export class HeldAead implements DataAead {
  readonly #held: (() => void)[];

  /** `held` may be shared by several HeldAeads, so one release reorders calls across all of them. */
  constructor(
    private readonly inner: Aead,
    held: (() => void)[] = [],
  ) {
    this.#held = held;
  }

  /** Calls waiting to settle. */
  get held(): number {
    return this.#held.length;
  }

  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    // Computed at once (WebCrypto too copies its inputs when called); only the answer waits.
    return this.#hold(this.inner.seal(nonce, aad, plaintext));
  }

  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#hold(this.inner.open(nonce, aad, sealed));
  }

  /** Settles every held call, the newest first. */
  releaseNewestFirst(): void {
    releaseNewestFirst(this.#held);
  }

  #hold<T>(value: T): Promise<T> {
    return new Promise<T>((resolve) => this.#held.push(() => resolve(value)));
  }
}

/** Settles every call held in `held`, the newest first. */
export function releaseNewestFirst(held: (() => void)[]): void {
  for (const release of held.splice(0).reverse()) release();
}
