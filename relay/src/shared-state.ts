/**
 * The rendezvous state that several relay instances share in one Redis (PROTOCOL.md §12), seen from one instance:
 * where a rendezvous goes (route), the cluster-wide per-address connection count (admit/release), failed claims and
 * burns, and the heartbeat that keeps this instance alive and its nameplates and reconnect ids held. Every call fails
 * fast (redis.ts): a route answers `unavailable`, a record that cannot be written is dropped (it only loosens a limit).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from './logger.js';
import type { SharedRedis } from './redis.js';
import type { Route, RouteRequest } from './route.js';
import { ADMIT, ALLOCATE, FAILED_CLAIM, HEARTBEAT, LEAVE, RELEASE, ROUTE } from './shared-state-scripts.js';

/** An instance whose heartbeat stops is dead this long after its last one: its nameplates count as free. */
export const LIVENESS_MS = 10_000;
export const HEARTBEAT_MS = 1_000;
/** A hold outlives its holder's liveness, so that it is the liveness that decides. */
const HOLD_MS = 3 * LIVENESS_MS;
const PREFIX = 'portunus:';
/** The allocate script tries at most this many nameplates (Redis runs one script at a time). */
const MAX_ALLOCATE_SCAN = 100_000;

export interface SharedStateOptions {
  /** This instance's random id. */
  id: string;
  /** The ws:// URL the other instances link to. */
  advertise: string;
  maxNameplate: number;
  failedClaimsPerMinute: number;
  maxConnectionsPerIp: number;
  /** How long a burned nameplate stays burned. */
  burnTtlMs: number;
}

type Script = (...args: (string | number)[]) => Promise<unknown>;

export class SharedState {
  /** Hold keys (`np:<n>`, `rc:<id>`) with a route under way: the heartbeat must not give them up meanwhile. */
  private readonly inflight = new Map<string, number>();
  /**
   * Hold keys this instance has taken since the last heartbeat (`fresh`: its room may be made a moment later, so they
   * are not given up at the next heartbeat), and those taken before or held then (`aging`: given up when not in use).
   */
  private fresh = new Set<string>();
  private aging = new Set<string>();
  private readonly scripts: Record<string, Script> = {};
  /** The ws:// URL the other instances link to (known once the relay listens). */
  advertise: string;

  constructor(
    private readonly redis: SharedRedis,
    private readonly options: SharedStateOptions,
    private readonly logger: Logger,
  ) {
    this.advertise = options.advertise;
    const scripts = { ROUTE, ALLOCATE, ADMIT, RELEASE, FAILED_CLAIM, HEARTBEAT, LEAVE };
    for (const [name, lua] of Object.entries(scripts)) {
      const command = `portunus${name}`;
      redis.client.defineCommand(command, { numberOfKeys: 0, lua });
      const client = redis.client as unknown as Record<string, Script>;
      this.scripts[name] = (...args) => client[command]!(PREFIX, options.id, ...args);
    }
  }

  reachable(): boolean {
    return this.redis.reachable();
  }

  /** Where a rendezvous from the address with limit key `key` goes. */
  async route(request: RouteRequest, key: string): Promise<Route> {
    const hold = request.kind === 'allocate' ? undefined : holdKey(request);
    if (hold !== undefined) this.inflight.set(hold, (this.inflight.get(hold) ?? 0) + 1);
    try {
      const reply = await this.ask(request, key);
      const route = parseRoute(reply, this.options.maxNameplate);
      if (route.kind === 'local') {
        const taken = hold ?? (route.nameplate === undefined ? undefined : `np:${route.nameplate}`);
        if (taken !== undefined && request.kind !== 'join') this.fresh.add(taken);
      }
      return route;
    } catch (err) {
      this.logger.debug('route failed', { error: err instanceof Error ? err.message.slice(0, 200) : 'unknown' });
      return { kind: 'unavailable' };
    } finally {
      if (hold !== undefined) {
        const left = (this.inflight.get(hold) ?? 1) - 1;
        if (left <= 0) this.inflight.delete(hold);
        else this.inflight.set(hold, left);
      }
    }
  }

  /** Counts a connection from `key` across live instances: false over the cap, undefined when Redis did not answer. */
  async admit(key: string): Promise<boolean | undefined> {
    try {
      return (await this.scripts.ADMIT!(key, this.options.maxConnectionsPerIp, LIVENESS_MS)) === 1;
    } catch {
      return undefined;
    }
  }

  release(key: string): void {
    this.scripts.RELEASE!(key).catch(() => {});
  }

  failedClaim(key: string): void {
    this.scripts.FAILED_CLAIM!(key).catch(() => {});
  }

  burned(nameplate: number): void {
    this.redis.client.set(`${PREFIX}burn:${nameplate}`, '1', 'PX', this.options.burnTtlMs).catch(() => {});
  }

  /**
   * Keeps this instance alive and `held` (in use here) held; gives back what was taken but is no longer in use.
   * Answers the advertise URLs of the live instances.
   */
  async heartbeat(held: { nameplates: number[]; reconnects: string[] }): Promise<string[]> {
    const keys = heldKeys(held);
    const current = new Set(keys);
    const released = [...this.aging].filter(
      (key) => !current.has(key) && !this.fresh.has(key) && !this.inflight.has(key),
    );
    const kept = [...this.aging].filter((key) => this.inflight.has(key));
    this.aging = new Set([...current, ...this.fresh, ...kept]);
    this.fresh = new Set();
    const urls = await this.scripts.HEARTBEAT!(this.advertise, LIVENESS_MS, HOLD_MS, keys.length, ...keys, ...released);
    return Array.isArray(urls) ? urls.filter((url): url is string => typeof url === 'string') : [];
  }

  /** The key that authenticates links between instances: made once by whichever instance comes first. */
  async linkSecret(): Promise<Buffer> {
    const key = `${PREFIX}secret`;
    await this.redis.client.set(key, randomBytes(32).toString('hex'), 'NX');
    const secret = await this.redis.client.get(key);
    if (secret === null || !/^[0-9a-f]{64}$/.test(secret)) throw new Error('no link secret in redis');
    return Buffer.from(secret, 'hex');
  }

  /** A graceful stop: this instance's liveness, counts and holds go at once. */
  async leave(held: { nameplates: number[]; reconnects: string[] }): Promise<void> {
    await this.scripts.LEAVE!(...new Set([...heldKeys(held), ...this.fresh, ...this.aging]));
  }

  private ask(request: RouteRequest, key: string): Promise<unknown> {
    const { failedClaimsPerMinute, maxNameplate } = this.options;
    switch (request.kind) {
      case 'allocate':
        return this.scripts.ALLOCATE!(Math.min(maxNameplate, MAX_ALLOCATE_SCAN), HOLD_MS);
      case 'claim':
      case 'join':
        return this.scripts.ROUTE!(request.kind, request.nameplate, key, failedClaimsPerMinute, HOLD_MS);
      case 'reconnect':
        return this.scripts.ROUTE!(request.kind, request.id, key, failedClaimsPerMinute, HOLD_MS);
    }
  }
}

function holdKey(request: Exclude<RouteRequest, { kind: 'allocate' }>): string {
  return request.kind === 'reconnect' ? `rc:${request.id}` : `np:${request.nameplate}`;
}

function heldKeys(held: { nameplates: number[]; reconnects: string[] }): string[] {
  return [...held.nameplates.map((n) => `np:${n}`), ...held.reconnects.map((id) => `rc:${id}`)];
}

/** A script's reply, checked: anything unexpected counts as the shared state being unavailable. */
function parseRoute(reply: unknown, maxNameplate: number): Route {
  if (!Array.isArray(reply) || typeof reply[0] !== 'string') return { kind: 'unavailable' };
  const [kind, value] = reply as unknown[];
  switch (kind) {
    case 'local': {
      if (value === undefined) return { kind: 'local' };
      const n = Number(value);
      return Number.isSafeInteger(n) && n >= 1 && n <= maxNameplate ? { kind, nameplate: n } : { kind: 'unavailable' };
    }
    case 'remote':
      return typeof value === 'string' && /^wss?:\/\/[^\s/]+\/?$/.test(value)
        ? { kind, url: value }
        : { kind: 'unavailable' };
    case 'burned':
    case 'rate-limited':
    case 'full':
      return { kind };
    default:
      return { kind: 'unavailable' };
  }
}
