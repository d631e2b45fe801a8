/**
 * The tus upload lock shared by relay instances (`--redis`): @tus/server holds a lock on an upload while it serves a
 * PATCH, HEAD or finish, and its default lock lives in one process. Behind a load balancer, a client resuming a cut
 * PATCH may reach another instance while the first still writes what reached it; two writers of one upload would
 * interleave parts. This lock is a Redis key (SET NX PX) holding a random owner token, renewed while held and
 * released only by its owner (a Lua compare-and-delete); a lock whose instance died lapses after LOCK_TTL_MS.
 * A waiter asks the holder to let go (tus's requestRelease) through a second key the holder looks at each renewal.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/server';

/** A lock not renewed for this long is free (its instance died). */
export const LOCK_TTL_MS = 10_000;
/** The holder renews (and looks for a release request) this often. */
const RENEW_MS = 1_000;
/** A waiter tries again this often. */
const RETRY_MS = 50;
/** A waiter gives up after this long (tus then answers 500, the client retries). */
const ACQUIRE_TIMEOUT_MS = 30_000;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1], KEYS[2]) end return 0`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return redis.call('EXISTS', KEYS[2]) end return -1`;

export class RedisLocker implements Locker {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  newLock(id: string): Lock {
    return new RedisLock(this.redis, `${this.prefix}${id}`);
  }
}

class RedisLock implements Lock {
  private readonly token = randomBytes(16).toString('hex');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  private get releaseKey(): string {
    return `${this.key}:release`;
  }

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const deadline = Date.now() + ACQUIRE_TIMEOUT_MS;
    for (;;) {
      if (signal.aborted) throw ERRORS.ERR_LOCK_TIMEOUT;
      const got = await this.redis.set(this.key, this.token, 'PX', LOCK_TTL_MS, 'NX');
      if (got === 'OK') {
        // A request made of the previous holder is not one made of this one.
        await this.redis.del(this.releaseKey);
        break;
      }
      // Ask the holder (whichever instance) to finish: it sees this at its next renewal.
      await this.redis.set(this.releaseKey, '1', 'PX', RENEW_MS * 3);
      if (Date.now() > deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
    this.timer = setInterval(() => void this.renew(requestRelease), RENEW_MS);
    this.timer.unref();
  }

  private async renew(requestRelease: RequestRelease): Promise<void> {
    const asked = await this.redis
      .eval(RENEW, 2, this.key, this.releaseKey, String(LOCK_TTL_MS))
      .catch(() => 0 as unknown);
    // Asked to let go, or the lock lapsed (Redis lost it): end the request that holds it.
    if (asked === 1 || asked === -1) await Promise.resolve(requestRelease()).catch(() => {});
  }

  async unlock(): Promise<void> {
    clearInterval(this.timer);
    // A Redis outage leaves the key to lapse by itself within LOCK_TTL_MS.
    await this.redis.eval(RELEASE, 2, this.key, this.releaseKey, this.token).catch(() => {});
  }
}
