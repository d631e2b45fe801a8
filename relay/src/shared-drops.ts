/**
 * The drops of relay instances that share a Redis (`--redis`, PROTOCOL.md §11.4): records, slots, leases and the
 * usage counted against the limits live in Redis, and every change is one Lua script (shared-drop-scripts.ts), so
 * any instance may serve any request. The storage (S3, or a directory every instance mounts) holds the bytes; the
 * records are not written to it (Redis is their one home and must persist them: appendonly). Records a storage
 * holds from a relay run alone are taken into Redis once, then deleted from the storage.
 *
 * What only this process knows: the responses it is sending and the PATCHes it is receiving. Each sweep first marks
 * those leases and uploads seen in Redis, so another instance's sweep never ends a lease or an upload in use here.
 * Redis unreachable: every request that needs the index is refused DROPS_UNAVAILABLE (503); nothing is changed.
 */
import {
  LEASE_IDLE_MS,
  MAX_RECORDS,
  newDropRecord,
  parseDropRecord,
  sameHash,
  sha256Hex,
  UPLOAD_IDLE_MS,
  type DropLease,
  type DropRecord,
} from './drop-record.js';
import type { DropBook, TakenSlot } from './drop-book.js';
import { DropRefusal, type DropRefusalCode } from './drop-refusal.js';
import type { DropStorage } from './drop-storage.js';
import {
  dropCapabilities,
  type Capabilities,
  type DropLimits,
  type DropsDeps,
  type DropStats,
  type NewDrop,
} from './drop-terms.js';
import type { SharedRedis } from './redis.js';
import * as S from './shared-drop-scripts.js';

/** Every key under one hash tag (one Redis Cluster slot: the scripts touch several). */
export const DROP_KEY_PREFIX = 'portunus:{drops}:';
const K = {
  expiry: `${DROP_KEY_PREFIX}expiry`,
  idle: `${DROP_KEY_PREFIX}idle`,
  leases: `${DROP_KEY_PREFIX}leases`,
  deleting: `${DROP_KEY_PREFIX}deleting`,
  usage: `${DROP_KEY_PREFIX}usage`,
};
const SHARED_KEYS = [K.expiry, K.idle, K.leases, K.deleting, K.usage];
/** Entries one sweep handles per kind (the next sweep goes on). */
const SWEEP_BATCH = 500;
/** A deletion claimed this long ago and not finished is tried again (its instance failed or died). */
const DELETE_RETRY_MS = 60_000;

function unavailable(): DropRefusal {
  return new DropRefusal('DROPS_UNAVAILABLE', 'the relay cannot reach its drop index; try again shortly');
}

export class SharedDrops implements DropBook {
  /** Responses being sent by this process, per lease hash. */
  private readonly streaming = new Map<string, { id: string; count: number }>();
  /** PATCHes being received by this process, per drop id. */
  private readonly uploading = new Map<string, number>();
  /** Record changes started without a caller waiting (a PATCH or a response ended): close waits for them. */
  private readonly pending = new Set<Promise<unknown>>();
  private totals = { drops: 0, bytes: 0 };
  private imported = false;

  constructor(
    readonly storage: DropStorage,
    private readonly limits: DropLimits,
    private readonly deps: DropsDeps,
    private readonly redis: SharedRedis,
  ) {}

  capabilities(): Capabilities {
    return dropCapabilities(this.limits);
  }

  stats(): DropStats {
    let sending = 0;
    for (const { count } of this.streaming.values()) sending += count;
    return { ...this.totals, sending };
  }

  /** Runs a script on the drop's record; a Redis that cannot answer is DROPS_UNAVAILABLE. */
  private async run(script: string, id: string, ...args: (string | number)[]): Promise<unknown> {
    if (!this.redis.reachable()) throw unavailable();
    try {
      return await this.redis.client.eval(script, 6, `${DROP_KEY_PREFIX}r:${id}`, ...SHARED_KEYS, ...args);
    } catch (err) {
      // A script's own error is a bug here, not an outage: say so in the log, answer INTERNAL.
      if ((err as Error).name === 'ReplyError') throw err;
      throw unavailable();
    }
  }

  private async redisCall<T>(call: () => Promise<T>): Promise<T> {
    if (!this.redis.reachable()) throw unavailable();
    return call().catch(() => {
      throw unavailable();
    });
  }

  /** Starts a record change nobody waits for; failures are logged (the next sweep or request sets things right). */
  private background(what: string, id: string, change: Promise<unknown>): void {
    const tracked = change.catch((err: unknown) => {
      this.deps.logger.warn(`drop ${what} failed`, { id, error: (err as Error).message });
    });
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  async find(id: string): Promise<DropRecord | undefined> {
    const text = await this.redisCall(() => this.redis.client.get(`${DROP_KEY_PREFIX}r:${id}`));
    if (text === null) return undefined;
    const value = JSON.parse(text) as Record<string, unknown>;
    // cjson wrote an empty lease list as an object.
    if (!Array.isArray(value.leases)) value.leases = [];
    const record = parseDropRecord(JSON.stringify(value));
    if (record === undefined) throw new Error('a drop record in Redis is damaged');
    return this.deps.clock() >= record.expiresAt ? undefined : record;
  }

  async settled(record: DropRecord): Promise<DropRecord> {
    if (record.complete) return record;
    const upload = await this.storage.uploads.getUpload(this.storage.uploadKey(record.id)).catch(() => undefined);
    if (upload?.offset !== record.length) return record;
    await this.uploaded(record.id);
    return (await this.find(record.id)) ?? record;
  }

  async create(drop: NewDrop): Promise<string> {
    const { maxBytes, totalBytes, maxExpiryMs, perAddress, bytesPerAddress } = this.limits;
    if (drop.length > maxBytes) throw new DropRefusal('DROP_TOO_LARGE', `a drop may hold at most ${maxBytes} bytes`);
    if (drop.expiresMs > maxExpiryMs)
      throw new DropRefusal('BAD_REQUEST', `expires: at most ${maxExpiryMs / 1000} seconds`);
    // An expired drop of the same id still indexed goes first (the sweep may not have come by yet).
    if ((await this.run(S.CLAIM, drop.id, drop.id, this.deps.clock(), 'expired', 0)) === 1)
      await this.deleteClaimed(drop.id);
    const token = Buffer.from(this.deps.random(16)).toString('hex');
    const now = this.deps.clock();
    const record = newDropRecord(drop, now, sha256Hex(token));
    const json = JSON.stringify(record);
    const outcome = await this.run(S.CREATE, drop.id, json, perAddress, bytesPerAddress, totalBytes, MAX_RECORDS);
    const refusals: Record<string, [DropRefusalCode, string]> = {
      DROP_EXISTS: ['DROP_EXISTS', 'a drop with this id exists'],
      QUOTA_DROPS: ['DROP_QUOTA', `at most ${perAddress} drops per address`],
      QUOTA_BYTES: ['DROP_QUOTA', `at most ${bytesPerAddress} bytes of drops per address`],
      FULL: ['DROP_STORAGE_FULL', 'the relay has no room for this drop'],
    };
    const refusal = refusals[String(outcome)];
    if (refusal !== undefined) throw new DropRefusal(...refusal);
    return token;
  }

  async abandon(id: string): Promise<void> {
    if ((await this.run(S.CLAIM, id, id, this.deps.clock(), 'any', 0)) === 1) await this.deleteClaimed(id);
  }

  uploadTokenMatches(record: DropRecord, token: string): boolean {
    return sameHash(record.tokenHash, sha256Hex(token));
  }

  async patchStarted(record: DropRecord): Promise<{ done(): void }> {
    await this.run(S.TOUCH_UPLOAD, record.id, this.deps.clock());
    this.uploading.set(record.id, (this.uploading.get(record.id) ?? 0) + 1);
    const done = (): void => {
      const left = (this.uploading.get(record.id) ?? 1) - 1;
      if (left > 0) this.uploading.set(record.id, left);
      else this.uploading.delete(record.id);
      this.background('upload touch', record.id, this.run(S.TOUCH_UPLOAD, record.id, this.deps.clock()));
    };
    return { done };
  }

  async uploaded(id: string): Promise<void> {
    if ((await this.run(S.COMPLETE, id, this.deps.clock())) === 1) this.deps.observer.uploadCompleted();
  }

  async takeSlot(record: DropRecord): Promise<TakenSlot> {
    const lease = Buffer.from(this.deps.random(16)).toString('hex');
    const leaseHash = sha256Hex(lease);
    const outcome = String(await this.run(S.TAKE_SLOT, record.id, leaseHash, this.deps.clock()));
    if (outcome === 'DROP_GONE') throw new DropRefusal('DROP_GONE', 'every download of this drop has been used');
    if (outcome === 'DROP_NOT_FOUND') throw new DropRefusal('DROP_NOT_FOUND', 'no such drop, or it expired');
    if (outcome === 'DROP_INCOMPLETE')
      throw new DropRefusal('DROP_INCOMPLETE', 'the upload of this drop is not complete');
    return { lease, leaseHash, left: Number(outcome) };
  }

  async lease(record: DropRecord, token: string): Promise<DropLease> {
    const hash = sha256Hex(token);
    const known = record.leases.some((l) => sameHash(l.hash, hash));
    if (!known || (await this.run(S.TOUCH_LEASE, record.id, hash, this.deps.clock())) !== 1)
      throw new DropRefusal('DROP_GONE', 'this download lease has ended');
    return { hash, seenAt: this.deps.clock() };
  }

  streamStarted(record: DropRecord, leaseHash: string): void {
    const entry = this.streaming.get(leaseHash) ?? { id: record.id, count: 0 };
    entry.count += 1;
    this.streaming.set(leaseHash, entry);
  }

  leaseSeen(record: DropRecord, leaseHash: string): void {
    this.streamEnded(leaseHash);
    this.background('lease touch', record.id, this.run(S.TOUCH_LEASE, record.id, leaseHash, this.deps.clock()));
  }

  private streamEnded(leaseHash: string): void {
    const entry = this.streaming.get(leaseHash);
    if (entry === undefined) return;
    entry.count -= 1;
    if (entry.count <= 0) this.streaming.delete(leaseHash);
  }

  async leaseDone(record: DropRecord, leaseHash: string): Promise<void> {
    const outcome = await this.run(S.END_LEASE, record.id, leaseHash, this.deps.clock(), -1, record.id);
    if (outcome === 'NONE') return;
    this.deps.observer.downloadCompleted();
    if (outcome === 'RETIRE') await this.deleteBytes(record.id);
  }

  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Every slot used and no lease open: the bytes go; the record stays (gone) until expiry. */
  private async deleteBytes(id: string): Promise<void> {
    await this.storage.deleteData(id);
    this.deps.logger.debug('drop downloaded and deleted', { id });
  }

  /** This instance claimed the drop's deletion: bytes (and any record file), then the claim. */
  private async deleteClaimed(id: string): Promise<void> {
    await this.storage.deleteData(id);
    await this.storage.deleteRecord(id);
    await this.redisCall(() => this.redis.client.zrem(K.deleting, id));
    this.deps.logger.debug('drop deleted', { id });
  }

  async sweep(): Promise<void> {
    if (!this.redis.reachable()) return;
    const each = async (what: string, ids: string[], task: (id: string) => Promise<unknown>): Promise<void> => {
      for (const id of ids)
        await task(id).catch((err: unknown) => {
          this.deps.logger.warn('drop sweep failed', { what, id, error: (err as Error).message });
        });
    };
    try {
      if (!this.imported) await this.importStored();
      const now = this.deps.clock();
      const sending = [...this.streaming].map(([hash, { id }]) => `${id}:${hash}`);
      await each('lease', sending, (member) => {
        const [id = '', hash = ''] = member.split(':');
        return this.run(S.TOUCH_LEASE, id, hash, now);
      });
      await each('upload', [...this.uploading.keys()], (id) => this.run(S.TOUCH_UPLOAD, id, now));
      const due = (key: string, until: number) =>
        this.redisCall(() => this.redis.client.zrangebyscore(key, '-inf', until, 'LIMIT', 0, SWEEP_BATCH));
      await each('expiry', await due(K.expiry, now), async (id) => {
        if ((await this.run(S.CLAIM, id, id, now, 'expired', 0)) === 1) await this.deleteClaimed(id);
      });
      await each('idle upload', await due(K.idle, now - UPLOAD_IDLE_MS), async (id) => {
        if ((await this.run(S.CLAIM, id, id, now, 'idle', UPLOAD_IDLE_MS)) === 1) await this.deleteClaimed(id);
      });
      await each('idle lease', await due(K.leases, now - LEASE_IDLE_MS), async (member) => {
        const [id = '', hash = ''] = member.split(':');
        if ((await this.run(S.END_LEASE, id, hash, now, LEASE_IDLE_MS, id)) === 'RETIRE') await this.deleteBytes(id);
      });
      await each('deletion', await due(K.deleting, now - DELETE_RETRY_MS), async (id) => {
        if ((await this.run(S.RECLAIM, id, id, now, now - DELETE_RETRY_MS)) === 1) await this.deleteClaimed(id);
      });
      const [live, bytes] = await this.redisCall(() => this.redis.client.hmget(K.usage, 'live', 'bytes'));
      this.totals = { drops: Number(live ?? 0), bytes: Number(bytes ?? 0) };
    } catch (err) {
      this.deps.logger.warn('drop sweep failed', { error: (err as Error).message });
    }
  }

  /** Records the storage holds (from a relay run without --redis) go into Redis, then leave the storage. */
  private async importStored(): Promise<void> {
    const { records, damaged } = await this.storage.records();
    for (const id of damaged) this.deps.logger.warn('unreadable drop record left alone', { id });
    for (const record of records) {
      await this.run(S.IMPORT, record.id, JSON.stringify(record));
      await this.storage.deleteRecord(record.id);
    }
    this.imported = true;
  }
}
