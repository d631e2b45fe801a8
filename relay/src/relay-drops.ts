/**
 * A relay's drops, as server.ts wires them: the storage opened from `--storage` (none: every `/drops` request gets
 * DROPS_DISABLED), the HTTP API, the metrics and the sweep timer.
 */
import type { Registry } from 'prom-client';
import type { RandomBytes } from '@portunus/protocol';
import type { ProxyTrust } from './address.js';
import type { RelayConfig } from './config.js';
import { DropHttp } from './drop-http.js';
import { DropMetrics } from './drop-metrics.js';
import { openDropStorage } from './drop-storage.js';
import { Drops } from './drops.js';
import type { Logger } from './logger.js';

export interface RelayDropsDeps {
  registry: Registry;
  clock: () => number;
  random: RandomBytes;
  logger: Logger;
  trust: ProxyTrust | undefined;
  /** The relay is shutting down. */
  draining(): boolean;
}

export class RelayDrops {
  private readonly metrics: DropMetrics;
  private drops: Drops | undefined;
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

  /** Opens `--storage` (if any): loads every drop and sweeps once; then sweeps every dropSweepIntervalMs. */
  async open(env: Record<string, string | undefined>): Promise<void> {
    const c = this.config;
    if (c.storage === undefined) return;
    const { clock, random, logger } = this.deps;
    this.drops = await Drops.open(
      await openDropStorage(c.storage, env),
      {
        maxBytes: c.dropMaxBytes,
        totalBytes: c.dropTotalBytes,
        maxExpiryMs: c.dropMaxExpiryMs,
        perAddress: c.dropPerAddress,
        bytesPerAddress: c.dropBytesPerAddress,
      },
      { clock, random, logger, observer: this.metrics },
    );
    this.http.enable(this.drops);
    this.timer = setInterval(() => this.sweep(), c.dropSweepIntervalMs);
    this.timer.unref();
    logger.info('drops enabled', { storage: this.drops.storage.description, ...this.drops.stats() });
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
