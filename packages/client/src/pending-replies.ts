/**
 * The relay's replies this client waits for, one per kind at a time (welcome, allocated, claimed, reconnected,
 * pipe-open): a
 * reply nobody asked for is the relay breaking the protocol, and the connection's end rejects every wait.
 */
import { createError, type PortunusError, type RelayToClient } from '@portunus/protocol';

export type Reply = 'welcome' | 'allocated' | 'claimed' | 'reconnected' | 'pipe-open';

interface Deferred {
  promise: Promise<RelayToClient>;
  resolve(value: RelayToClient): void;
  reject(err: PortunusError): void;
}

export class PendingReplies {
  private readonly waiting = new Map<Reply, Deferred>();

  /** The wait for `type` already under way, if any. */
  pending(type: Reply): Promise<RelayToClient> | undefined {
    return this.waiting.get(type)?.promise;
  }

  /** Starts waiting for a reply of `type`; the caller sends the request after this. */
  expect(type: Reply): Promise<RelayToClient> {
    if (this.waiting.has(type)) throw createError('INTERNAL', `a request for ${type} is already pending`);
    let resolve!: (value: RelayToClient) => void;
    let reject!: (err: PortunusError) => void;
    const promise = new Promise<RelayToClient>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => {}); // rejections reach whoever awaits; nobody awaiting is not an error
    this.waiting.set(type, { promise, resolve, reject });
    return promise;
  }

  /** Hands `msg` to the wait for its type; false when nobody waited for one. */
  settle(type: Reply, msg: RelayToClient): boolean {
    const pending = this.waiting.get(type);
    if (pending === undefined) return false;
    this.waiting.delete(type);
    pending.resolve(msg);
    return true;
  }

  rejectAll(error: PortunusError): void {
    for (const pending of this.waiting.values()) pending.reject(error);
    this.waiting.clear();
  }
}
