/**
 * A value that is either here now or promised: what the data plane's AEAD returns (aead.ts, DataAead). The frame
 * layer passes a plain value straight through, so a synchronous AEAD (node:crypto, noble) costs no promise and no
 * microtask per frame; only an asynchronous one (WebCrypto) pays for its promises.
 */
export type MaybePromise<T> = T | Promise<T>;

/** True for a promise (any thenable). Frames, plaintexts and ack indexes never have a `then`. */
export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/** `next(value)` at once when `value` is plain; after it resolves when it is a promise. */
export function whenReady<T, U>(value: MaybePromise<T>, next: (ready: T) => U): MaybePromise<U> {
  return isPromise(value) ? value.then(next) : next(value);
}
