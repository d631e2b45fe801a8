/**
 * A relay's drops, as server.ts wires them: the storage opened from `--storage` (none: every `/drops` request gets
 * DROPS_DISABLED), the bookkeeping (in this process, or shared through `--redis`), the HTTP API, the metrics and the
 * sweep timer.
 */
import type { Registry } from 'prom-client';
import type { RandomBytes } from '@portunus/protocol';
import type { ProxyTrust } from './address.js';
import type { RelayConfig } from './config.js';
import type { DropBook } from './drop-book.js';
import { DropHttp } from './drop-http.js';
import { DropMetrics } from './drop-metrics.js';
import { openDropStorage } from './drop-storage.js';
import type { DropLimits } from './drop-terms.js';
import { Drops } from './drops.js';
import type { Logger } from './logger.js';
import type { SharedRedis } from './redis.js';
import { RedisLocker } from './redis-locker.js';
import { DROP_KEY_PREFIX, SharedDrops } from './shared-drops.js';

/** At start-up, how long a relay waits for its Redis before it serves anyway (drop requests refused meanwhile). */
const REDIS_START_WAIT_MS = 5_000;

export interface RelayDropsDeps {
  registry: Registry;
  clock: () => number;
  random: RandomBytes;
  logger: Logger;
  trust: ProxyTrust | undefined;
  /** The relay is shutting down. */
  draining(): boolean;
  /** With `--redis`: the relay's one connection (server.ts owns it and closes it after `close()`). */
  redis: SharedRedis | undefined;
}

export class RelayDrops {
  private readonly metrics: DropMetrics;
  private drops: DropBook | undefined;
  readonly http: DropHttp;
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(
    private readonly config: RelayConfig,
    private readonly deps: RelayDropsDeps,
  ) {
    this.metrics = new DropMetrics(deps.registry, () => this.drops);
    this.http = new DropHttp({
      trust: deps.trust,
      logger: deps.logger,
      refused: (code) => this.metrics.refused(code),
      draining: deps.draining,
    });
  }

  /** Opens `--storage` (if any): loads every drop (or reaches the shared Redis) and sweeps once; then sweeps every dropSweepIntervalMs. */
  async open(env: Record<string, string | undefined>): Promise<void> {
    const c = this.config;
    if (c.storage === undefined) return;
    const { clock, random, logger } = this.deps;
    const limits: DropLimits = {
      maxBytes: c.dropMaxBytes,
      totalBytes: c.dropTotalBytes,
      maxExpiryMs: c.dropMaxExpiryMs,
      perAddress: c.dropPerAddress,
      bytesPerAddress: c.dropBytesPerAddress,
    };
    const dropsDeps = { clock, random, logger, observer: this.metrics };
    const redis = this.deps.redis;
    if (redis === undefined) {
      const drops = await Drops.open(await openDropStorage(c.storage, env), limits, dropsDeps);
      this.drops = drops;
      this.http.enable(drops);
    } else {
      await redis.ready(REDIS_START_WAIT_MS).catch(() => {});
      const storage = await openDropStorage(c.storage, env, redis.client);
      const drops = new SharedDrops(storage, limits, dropsDeps, redis);
      await drops.sweep();
      this.drops = drops;
      this.http.enable(drops, new RedisLocker(redis.client, `${DROP_KEY_PREFIX}lock:`));
    }
    this.timer = setInterval(() => this.sweep(), c.dropSweepIntervalMs);
    this.timer.unref();
    const shared = redis === undefined ? {} : { shared: true };
    logger.info('drops enabled', { storage: this.drops.storage.description, ...shared, ...this.drops.stats() });
  }

  /** After the server closed: the record writes under way land, then the storage's clients are released. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.drops?.flush();
    this.drops?.storage.close();
  }

  /** One sweep at a time: a slow storage must not pile them up. */
  private sweep(): void {
    const drops = this.drops;
    if (drops === undefined || this.sweeping) return;
    this.sweeping = true;
    void drops.sweep().finally(() => (this.sweeping = false));
  }
}
