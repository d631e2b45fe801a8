/**
 * The bookkeeping of a relay's drops as the drop API (drop-http.ts) uses it: one process alone keeps it in memory
 * and in the storage's records (drops.ts); relay instances sharing a Redis (`--redis`) keep it there (shared-drops.ts),
 * every change one atomic script, so the instances behind a load balancer act as one relay.
 */
import type { DropLease, DropRecord } from './drop-record.js';
import type { DropStorage } from './drop-storage.js';
import type { Capabilities, DropStats, NewDrop } from './drop-terms.js';

export interface TakenSlot {
  lease: string;
  leaseHash: string;
  /** Download slots left after this one. */
  left: number;
}

export interface DropBook {
  readonly storage: DropStorage;
  capabilities(): Capabilities;
  /** Stored drops and bytes (as of the last sweep when shared), and downloads this process is sending. */
  stats(): DropStats;
  /** The record of a drop that has not expired. */
  find(id: string): Promise<DropRecord | undefined>;
  /** An incomplete record whose bytes all arrived (the finish was not recorded) counted complete, else as it is. */
  settled(record: DropRecord): Promise<DropRecord>;
  /** Checks the limits, then stores the new drop's record; returns its upload token. */
  create(drop: NewDrop): Promise<string>;
  /** The upload was not created after all (the tus layer refused it): forget the drop. */
  abandon(id: string): Promise<void>;
  /** Whether `token` is the upload token of the drop (compared as hashes, in constant time). */
  uploadTokenMatches(record: DropRecord, token: string): boolean;
  /** A PATCH arrived: the upload is alive until `done` is called (when its answer is gone). */
  patchStarted(record: DropRecord): Promise<{ done(): void }>;
  /** The last byte arrived; durable before the final PATCH is answered. */
  uploaded(id: string): Promise<void>;
  /** Takes a download slot with a new lease; throws DROP_GONE when none is left. */
  takeSlot(record: DropRecord): Promise<TakenSlot>;
  /** The open lease `token` of a drop, its last use now; throws DROP_GONE when it is unknown or ended. */
  lease(record: DropRecord, token: string): Promise<DropLease>;
  /** A response under the lease starts: the lease stays open while it is sent. */
  streamStarted(record: DropRecord, leaseHash: string): void;
  /** A response under the lease ended without the last byte: the lease stays open for LEASE_IDLE_MS from now. */
  leaseSeen(record: DropRecord, leaseHash: string): void;
  /** A response carrying the last stored byte was written completely: the lease ends. */
  leaseDone(record: DropRecord, leaseHash: string): Promise<void>;
  /** Deletes what expired, abandoned uploads and the bytes of fully downloaded drops; ends idle leases. */
  sweep(): Promise<void>;
  /** Waits for the record writes under way. */
  flush(): Promise<void>;
}
