/**
 * The drops a relay holds, as bookkeeping over a DropStorage (PROTOCOL.md §11.3, §11.4): creation against the limits,
 * upload progress, download slots and leases, and the sweep that deletes what expired. Every change that must
 * survive a restart is written to the drop's record before the request that caused it is answered; writes of one
 * drop are queued so they land in order.
 */
import {
  LEASE_IDLE_MS,
  MAX_RECORDS,
  sameHash,
  newDropRecord,
  sha256Hex,
  UPLOAD_IDLE_MS,
  type DropLease,
  type DropRecord,
} from './drop-record.js';
import type { DropBook, TakenSlot } from './drop-book.js';
import { DropRefusal } from './drop-refusal.js';
import type { DropStorage } from './drop-storage.js';
import {
  dropCapabilities,
  type Capabilities,
  type DropLimits,
  type DropsDeps,
  type DropStats,
  type NewDrop,
} from './drop-terms.js';
import { WriteQueues } from './write-queues.js';

export class Drops implements DropBook {
  private readonly records = new Map<string, DropRecord>();
  private readonly writes = new WriteQueues();
  /** Responses being sent, per lease hash: a lease in use does not go idle. */
  private readonly streaming = new Map<string, number>();
  /** PATCHes being received, per drop id: an upload in progress does not go idle, however long one PATCH takes. */
  private readonly uploading = new Map<string, number>();

  private constructor(
    readonly storage: DropStorage,
    private readonly limits: DropLimits,
    private readonly deps: DropsDeps,
  ) {}

  /** Loads every stored record and sweeps once (what expired while the relay was down goes now). */
  static async open(storage: DropStorage, limits: DropLimits, deps: DropsDeps): Promise<Drops> {
    const drops = new Drops(storage, limits, deps);
    const { records, damaged } = await storage.records();
    for (const record of records) drops.records.set(record.id, record);
    for (const id of damaged) deps.logger.warn('unreadable drop record left alone', { id });
    await drops.sweep();
    await drops.reconcileUploads();
    return drops;
  }

  /**
   * An upload whose last bytes were stored but whose record was not yet marked complete when the relay stopped
   * (killed between the two) is complete: the tus store's offset says so.
   */
  private async reconcileUploads(): Promise<void> {
    for (const record of this.records.values()) {
      if (record.complete || record.gone) continue;
      const upload = await this.storage.uploads.getUpload(this.storage.uploadKey(record.id)).catch(() => undefined);
      if (upload !== undefined && upload.offset === record.length) await this.uploaded(record.id);
    }
  }

  capabilities(): Capabilities {
    return dropCapabilities(this.limits);
  }

  /** Stored drops (not yet gone), the bytes they hold or have reserved, and downloads being sent. */
  stats(): DropStats {
    let drops = 0;
    let bytes = 0;
    for (const record of this.records.values()) {
      if (record.gone) continue;
      drops += 1;
      bytes += record.length;
    }
    let sending = 0;
    for (const count of this.streaming.values()) sending += count;
    return { drops, bytes, sending };
  }

  /** Stored drops and bytes counted against the limits: those not gone and not expired. */
  private usage(address: string): { bytes: number; mine: number; myBytes: number } {
    const now = this.deps.clock();
    let bytes = 0;
    let mine = 0;
    let myBytes = 0;
    for (const record of this.records.values()) {
      if (record.gone || now >= record.expiresAt) continue;
      bytes += record.length;
      if (record.address !== address) continue;
      mine += 1;
      myBytes += record.length;
    }
    return { bytes, mine, myBytes };
  }

  /** The record of a drop that has not expired. */
  async find(id: string): Promise<DropRecord | undefined> {
    const record = this.records.get(id);
    return record === undefined || this.deps.clock() >= record.expiresAt ? undefined : record;
  }

  /** Alone, the finish is recorded with the bytes or reconciled at start-up (reconcileUploads). */
  async settled(record: DropRecord): Promise<DropRecord> {
    return record;
  }

  /** Checks the limits, then stores the new drop's record; returns its upload token. */
  async create(drop: NewDrop): Promise<string> {
    const { maxBytes, totalBytes, maxExpiryMs, perAddress, bytesPerAddress } = this.limits;
    if (drop.length > maxBytes) throw new DropRefusal('DROP_TOO_LARGE', `a drop may hold at most ${maxBytes} bytes`);
    if (drop.expiresMs > maxExpiryMs)
      throw new DropRefusal('BAD_REQUEST', `expires: at most ${maxExpiryMs / 1000} seconds`);
    const existing = this.records.get(drop.id);
    if (existing !== undefined && this.deps.clock() < existing.expiresAt)
      throw new DropRefusal('DROP_EXISTS', 'a drop with this id exists');
    if (existing !== undefined) await this.remove(drop.id);
    // Another creation of the same id may have come in while the expired one was being deleted.
    if (this.records.has(drop.id)) throw new DropRefusal('DROP_EXISTS', 'a drop with this id exists');
    const { bytes, mine, myBytes } = this.usage(drop.address);
    if (mine >= perAddress) throw new DropRefusal('DROP_QUOTA', `at most ${perAddress} drops per address`);
    if (myBytes + drop.length > bytesPerAddress)
      throw new DropRefusal('DROP_QUOTA', `at most ${bytesPerAddress} bytes of drops per address`);
    if (bytes + drop.length > totalBytes || this.records.size >= MAX_RECORDS)
      throw new DropRefusal('DROP_STORAGE_FULL', 'the relay has no room for this drop');
    const token = Buffer.from(this.deps.random(16)).toString('hex');
    const now = this.deps.clock();
    const record = newDropRecord(drop, now, sha256Hex(token));
    this.records.set(drop.id, record);
    try {
      await this.persist(record);
    } catch (err) {
      this.records.delete(drop.id);
      throw err;
    }
    return token;
  }

  /** The upload was not created after all (the tus layer refused it): forget the drop. */
  async abandon(id: string): Promise<void> {
    await this.remove(id);
  }

  /** Whether `token` is the upload token of drop `id` (compared as hashes, in constant time). */
  uploadTokenMatches(record: DropRecord, token: string): boolean {
    return sameHash(record.tokenHash, sha256Hex(token));
  }

  /** A PATCH arrived: the upload is alive until `done` is called (when its answer is gone). */
  async patchStarted(record: DropRecord): Promise<{ done(): void }> {
    this.uploading.set(record.id, (this.uploading.get(record.id) ?? 0) + 1);
    record.uploadSeenAt = this.deps.clock();
    const done = (): void => {
      const left = (this.uploading.get(record.id) ?? 1) - 1;
      if (left > 0) this.uploading.set(record.id, left);
      else this.uploading.delete(record.id);
      record.uploadSeenAt = this.deps.clock();
    };
    await this.persist(record).catch((err: unknown) => {
      done();
      throw err;
    });
    return { done };
  }

  /** The last byte arrived; durable before the final PATCH is answered. */
  async uploaded(id: string): Promise<void> {
    const record = this.records.get(id);
    if (record === undefined || record.complete) return;
    record.complete = true;
    record.uploadSeenAt = this.deps.clock();
    await this.persist(record);
    this.deps.observer.uploadCompleted();
  }

  /** Takes a download slot with a new lease; throws DROP_GONE when none is left. */
  async takeSlot(record: DropRecord): Promise<TakenSlot> {
    if (record.gone || record.used >= record.downloads)
      throw new DropRefusal('DROP_GONE', 'every download of this drop has been used');
    const lease = Buffer.from(this.deps.random(16)).toString('hex');
    const leaseHash = sha256Hex(lease);
    record.used += 1;
    record.leases.push({ hash: leaseHash, seenAt: this.deps.clock() });
    await this.persist(record);
    return { lease, leaseHash, left: record.downloads - record.used };
  }

  /** The open lease `token` of a drop; throws DROP_GONE when it is unknown or ended. */
  async lease(record: DropRecord, token: string): Promise<DropLease> {
    const hash = sha256Hex(token);
    const lease = record.gone ? undefined : record.leases.find((l) => sameHash(l.hash, hash));
    if (lease === undefined) throw new DropRefusal('DROP_GONE', 'this download lease has ended');
    lease.seenAt = this.deps.clock();
    return lease;
  }

  /** A response under the lease starts: the lease stays open while it is sent. */
  streamStarted(_record: DropRecord, leaseHash: string): void {
    this.streaming.set(leaseHash, (this.streaming.get(leaseHash) ?? 0) + 1);
  }

  /** A response under the lease ended without the last byte: the lease stays open for LEASE_IDLE_MS from now. */
  leaseSeen(record: DropRecord, leaseHash: string): void {
    this.streamEnded(leaseHash);
    const lease = record.leases.find((l) => l.hash === leaseHash);
    if (lease !== undefined) lease.seenAt = this.deps.clock();
  }

  private streamEnded(leaseHash: string): void {
    const left = (this.streaming.get(leaseHash) ?? 1) - 1;
    if (left > 0) this.streaming.set(leaseHash, left);
    else this.streaming.delete(leaseHash);
  }

  /** A response carrying the last stored byte was written completely: the lease ends. */
  async leaseDone(record: DropRecord, leaseHash: string): Promise<void> {
    const before = record.leases.length;
    record.leases = record.leases.filter((l) => l.hash !== leaseHash);
    if (record.leases.length === before) return;
    this.deps.observer.downloadCompleted();
    if (!(await this.retireIfUsed(record))) await this.persist(record);
  }

  /** Deletes what expired, abandoned uploads and the bytes of fully downloaded drops; ends idle leases. */
  async sweep(): Promise<void> {
    const now = this.deps.clock();
    for (const record of [...this.records.values()]) {
      try {
        if (now >= record.expiresAt) await this.remove(record.id);
        else if (!record.complete && !this.uploading.has(record.id) && now - record.uploadSeenAt >= UPLOAD_IDLE_MS)
          await this.remove(record.id);
        else {
          const leases = record.leases.filter((l) => this.streaming.has(l.hash) || now - l.seenAt < LEASE_IDLE_MS);
          const changed = leases.length !== record.leases.length;
          record.leases = leases;
          if (!(await this.retireIfUsed(record)) && changed) await this.persist(record);
        }
      } catch (err) {
        this.deps.logger.warn('drop sweep failed', { id: record.id, error: (err as Error).message });
      }
    }
  }

  /** Waits for every queued record write. */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  /** Every slot used and no lease open: the bytes go; the record stays (gone) until expiry. */
  private async retireIfUsed(record: DropRecord): Promise<boolean> {
    if (record.gone || !record.complete || record.used < record.downloads || record.leases.length > 0) return false;
    record.gone = true;
    await this.persist(record);
    await this.writes.run(record.id, () => this.storage.deleteData(record.id));
    this.deps.logger.debug('drop downloaded and deleted', { id: record.id });
    return true;
  }

  /** Deletes the bytes, then the record: a failure leaves the record, and the next sweep tries again. */
  private async remove(id: string): Promise<void> {
    await this.writes.run(id, async () => {
      await this.storage.deleteData(id);
      await this.storage.deleteRecord(id);
    });
    this.records.delete(id);
    this.deps.logger.debug('drop deleted', { id });
  }

  private persist(record: DropRecord): Promise<void> {
    const snapshot: DropRecord = { ...record, leases: record.leases.map((l) => ({ ...l })) };
    return this.writes.run(record.id, () => this.storage.writeRecord(snapshot));
  }
}
