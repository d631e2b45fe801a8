/** What the relay core reports for metrics (metrics.ts implements it; tests count with a fake). */

/** Label values of the rejections counter. */
export type RejectReason =
  | 'rate_limit'
  | 'limit'
  | 'bad_message'
  | 'too_big'
  | 'incompatible'
  | 'in_use'
  | 'burned'
  | 'idle'
  | 'expired'
  | 'byte_cap'
  | 'shutdown'
  /** Several instances: the shared state (or the room's instance) was out of reach. */
  | 'cluster';

export interface RelayObserver {
  rejected(reason: RejectReason): void;
  paired(): void;
  /** Side b left before the key exchange completed; side a waits again. */
  unpaired(): void;
  /** A sender's connection took one more seat of an allocation with seats (`join`, `send --count`). */
  seatJoined(): void;
  burned(): void;
  transfer(ok: boolean): void;
  relayed(bytes: number): void;
}
