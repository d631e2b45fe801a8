/**
 * The Redis that relay instances share (`--redis`): one ioredis client per process, made to fail fast. A command sent
 * while Redis is unreachable is refused at once (no offline queue) or after COMMAND_TIMEOUT_MS, so a rendezvous that
 * needs Redis ends with a clear error instead of waiting; the client keeps reconnecting in the background, at most
 * RECONNECT_MAX_MS apart, and `reachable` says how it stands for /healthz.
 *
 * ioredis is well kept, speaks RESP with pipelining, Lua scripts and TLS (`rediss://`), and @tus/server already
 * depends on it, so the relay's closure gains no new package.
 */
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/** A command unanswered for this long fails (Redis hung, or a network that drops packets). */
export const COMMAND_TIMEOUT_MS = 2_000;
/** Longest wait between two attempts to reach Redis again. */
export const RECONNECT_MAX_MS = 1_000;

export interface SharedRedis {
  readonly client: Redis;
  /** Whether the last connection attempt succeeded and the connection is up. */
  reachable(): boolean;
  /** Resolves once connected, or rejects after `timeoutMs` (start-up: a relay whose Redis is down still starts). */
  ready(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export function openRedis(url: string, logger: Logger): SharedRedis {
  const client = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(50 * attempt, RECONNECT_MAX_MS),
    // The relay's own name in CLIENT LIST, for whoever operates the Redis.
    connectionName: 'portunus-relay',
  });
  let up = false;
  let reported = false;
  let closing = false;
  client.on('ready', () => {
    up = true;
    if (reported) logger.info('redis reachable again', {});
    reported = false;
  });
  // One line per outage: ioredis reports every failed attempt. The URL may hold a password: it is never logged.
  const outage = (error: string): void => {
    if (!reported) logger.warn('redis unreachable', { error: error.slice(0, 200) });
    reported = true;
  };
  client.on('close', () => {
    if (up && !closing) outage('connection closed');
    up = false;
  });
  client.on('error', (err: Error) => outage(err.message));
  return {
    client,
    reachable: () => up,
    ready: (timeoutMs) =>
      up
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => {
              client.off('ready', onReady);
              reject(new Error(`redis not reachable within ${timeoutMs} ms`));
            }, timeoutMs);
            const onReady = (): void => {
              clearTimeout(timer);
              resolve();
            };
            client.once('ready', onReady);
          }),
    close: async () => {
      closing = true;
      client.disconnect(false);
    },
  };
}
