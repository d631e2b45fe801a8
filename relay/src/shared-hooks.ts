/**
 * What the relay core tells the state several relay instances share (PROTOCOL.md §12): failed claims and burns
 * count across instances. The glue records them in Redis without waiting; a lost record only loosens a limit.
 */
export interface SharedHooks {
  /** A failed claim by the address with this limit key. */
  failedClaim(key: string): void;
  /** A burn remembered for `nameplate`. */
  burned(nameplate: number): void;
}
