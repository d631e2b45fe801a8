/**
 * One relay instance among several sharing a Redis (`--redis`, PROTOCOL.md §12): the glue between the core's route
 * and link actions and the shared state (shared-state.ts) and the links to other instances (instance-links.ts); the
 * cluster-wide per-address connection cap at the WebSocket upgrade; the link header check; the heartbeat; /healthz's
 * `redis` and the cluster metrics. The core never waits on Redis: it hands a rendezvous over and is told the answer.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { Counter, Gauge, type Registry } from 'prom-client';
import { addressKey } from './address.js';
import type { RelayConfig } from './config.js';
import type { ConnId } from './connections.js';
import type { OpenOptions, RelayCore } from './core.js';
import { InstanceLinks } from './instance-links.js';
import { LINK_HEADER, signLink, verifyLink } from './link-header.js';
import type { Logger } from './logger.js';
import { COMMAND_TIMEOUT_MS, type SharedRedis } from './redis.js';
import type { RelayAction } from './relay-action.js';
import type { SharedHooks } from './shared-hooks.js';
import { HEARTBEAT_MS, SharedState } from './shared-state.js';
import type { Sockets } from './sockets.js';

/** How a WebSocket upgrade was admitted: the client's address and what the core's `open` needs to know. */
export interface Admission extends OpenOptions {
  address: string;
  /** Counted in the cluster-wide per-address count (released when it closes). */
  counted: boolean;
}

export type ClusterAction = Extract<RelayAction, { type: 'route' | 'link' }>;

export interface ClusterDeps {
  core: () => RelayCore;
  sockets: Sockets;
  logger: Logger;
  clock: () => number;
  registry: Registry;
}

export class Cluster {
  readonly id = randomBytes(16).toString('hex');
  readonly state: SharedState;
  private readonly links: InstanceLinks;
  /** The link secret, read again at every heartbeat (a Redis restarted empty gets a new one), and the one before. */
  private secret: Buffer | undefined;
  private previousSecret: Buffer | undefined;
  /** Each connection's client address (a link carries it on), and the limit key it is counted under cluster-wide. */
  private readonly addresses = new Map<ConnId, { address: string; counted: string | undefined }>();
  private readonly routes: Counter<'outcome'>;
  private timer: NodeJS.Timeout | undefined;
  /** A graceful stop has begun: no more heartbeats. */
  private left = false;
  /** The IP addresses in the live instances' advertise URLs (from the last heartbeat). */
  private peers: ReadonlySet<string> = new Set();

  constructor(
    config: RelayConfig,
    private readonly redis: SharedRedis,
    private readonly deps: ClusterDeps,
  ) {
    const { maxNameplate, failedClaimsPerMinute, maxConnectionsPerIp, nameplateTtlMs } = config;
    const options = { id: this.id, advertise: '', maxNameplate, failedClaimsPerMinute, maxConnectionsPerIp };
    this.state = new SharedState(redis, { ...options, burnTtlMs: nameplateTtlMs }, deps.logger);
    const registers = [deps.registry];
    const links = new Counter({
      name: 'portunus_relay_forwarded_links_total',
      help: 'Connections this instance linked to the instance holding their room.',
      registers,
    });
    const piped = new Counter({
      name: 'portunus_relay_piped_links_total',
      help: 'Links this instance went on to pipe as bytes once their rendezvous was through (raw-splice.ts).',
      registers,
    });
    this.links = new InstanceLinks({
      sockets: deps.sockets,
      logger: deps.logger,
      maxPayload: Math.max(config.maxMessageBytes, config.maxFrameBytes),
      header: (address) =>
        this.secret === undefined ? undefined : signLink(this.secret, this.id, address, deps.clock()),
      onLink: () => links.inc(),
      onPiped: () => piped.inc(),
    });
    this.routes = new Counter({
      name: 'portunus_relay_routes_total',
      help: 'Rendezvous routed through the shared state, by outcome (local, remote, burned, rate-limited, full, unavailable).',
      labelNames: ['outcome'],
      registers,
    });
    new Gauge({
      name: 'portunus_relay_redis_up',
      help: 'Whether this instance reaches the Redis it shares with the other instances (1) or not (0).',
      registers,
      collect() {
        this.set(redis.reachable() ? 1 : 0);
      },
    });
    const linkCount = (): number => this.links.size;
    new Gauge({
      name: 'portunus_relay_open_links',
      help: 'Links to other instances open now.',
      registers,
      collect() {
        this.set(linkCount());
      },
    });
  }

  /** What the core reports to the shared state. */
  hooks(): SharedHooks {
    return { failedClaim: (key) => this.state.failedClaim(key), burned: (n) => this.state.burned(n) };
  }

  /** Starts the heartbeat, announcing `advertise` (and fetches the link secret, again and again until Redis answers). */
  start(advertise: string): void {
    this.state.advertise = advertise;
    // Back in touch with Redis: announce this instance at once rather than at the next tick.
    this.redis.client.on('ready', () => void this.beat());
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
    void this.beat();
  }

  /** Waits a little for Redis at start-up; a relay whose Redis is down still starts. */
  async ready(): Promise<void> {
    await this.redis.ready(COMMAND_TIMEOUT_MS).catch(() => {});
  }

  /**
   * Whether a raw socket comes from another instance's address: its links are not counted per address before their
   * upgrade (pre-upgrade-sockets.ts), where a burst of them would otherwise be cut like a client's flood. The link
   * header is checked at the upgrade; every socket still counts against the server's connection backstop.
   */
  isInstanceAddress(peer: string): boolean {
    return this.peers.has(peer.startsWith('::ffff:') ? peer.slice(7) : peer);
  }

  status(): 'ok' | 'unreachable' {
    return this.redis.reachable() ? 'ok' : 'unreachable';
  }

  perform(action: ClusterAction): void {
    const { core, sockets, clock } = this.deps;
    if (action.type === 'link') {
      const address = this.addresses.get(action.conn)?.address ?? '';
      const open = (): void => this.links.open(action.conn, address, action.url, action.hello, action.request);
      // Redis came back (or this instance started) since the last heartbeat: fetch the link secret now.
      if (this.secret === undefined) return void this.beat().then(open);
      return open();
    }
    void this.state
      .route(action.request, action.key)
      .then((route) => {
        this.routes.inc({ outcome: route.kind });
        sockets.perform(core().routed(action.conn, route, clock()));
      })
      .catch((err: unknown) => this.deps.logger.error('route failed', { error: String(err).slice(0, 300) }));
  }

  /**
   * Admits a WebSocket upgrade: a link from another instance by its header (a forged one gets 403), a client under the
   * cluster-wide per-address cap (refused over it, admitted on the local limits alone while Redis does not answer).
   */
  async upgrade(req: IncomingMessage, socket: Duplex, address: string, accept: (a: Admission) => void): Promise<void> {
    const header = req.headers[LINK_HEADER];
    if (header !== undefined) {
      const now = this.deps.clock();
      const vouched = [this.secret, this.previousSecret]
        .map((secret) =>
          typeof header === 'string' && secret !== undefined ? verifyLink(secret, header, now) : undefined,
        )
        .find((address) => address !== undefined);
      if (vouched !== undefined) return accept({ address: vouched, link: true, counted: false });
      this.deps.logger.warn('link refused', { ip: address, reason: 'bad link header' });
      socket.once('finish', () => socket.destroy());
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const key = addressKey(address);
    const admitted = await this.state.admit(key);
    if (!socket.writable) {
      if (admitted === true) this.state.release(key);
      socket.destroy();
      return;
    }
    accept({
      address,
      counted: admitted === true,
      ...(admitted === false ? { refused: 'too-many-from-address' } : {}),
    });
  }

  opened(conn: ConnId, admission: Admission): void {
    const counted = admission.counted ? addressKey(admission.address) : undefined;
    this.addresses.set(conn, { address: admission.address, counted });
  }

  /** A frame from a client: true when it went to the client's link (the core does not see it). */
  fromClient(conn: ConnId, data: Buffer, binary: boolean): boolean {
    return this.links.fromClient(conn, data, binary);
  }

  closed(conn: ConnId, code: number): void {
    this.links.clientClosed(conn, code);
    const counted = this.addresses.get(conn)?.counted;
    this.addresses.delete(conn);
    if (counted !== undefined) this.state.release(counted);
  }

  /**
   * A graceful stop begins: this instance's liveness, counts and holds go at once, so new rendezvous go elsewhere
   * (its waiting rooms are closed anyway; its paired rooms and links go on without Redis).
   */
  async leave(): Promise<void> {
    this.left = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.state.leave(this.deps.core().held()).catch(() => {});
  }

  /** The stop is over: lets go of Redis. */
  async close(): Promise<void> {
    await this.leave();
    await this.redis.close();
  }

  private async beat(): Promise<void> {
    if (this.left) return;
    try {
      const secret = await this.state.linkSecret();
      if (this.secret === undefined || !secret.equals(this.secret))
        [this.previousSecret, this.secret] = [this.secret, secret];
      this.peers = instanceAddresses(await this.state.heartbeat(this.deps.core().held()));
    } catch {
      // Redis is out of reach: redis.ts has said so once; the next beat tries again.
    }
  }
}

/** The IP literals among advertise URLs (a host name is not resolved: its links count like a client's sockets). */
function instanceAddresses(urls: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const url of urls) {
    try {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) !== 0) out.add(host);
    } catch {
      // Not a URL: the scripts only store what an instance announced, and an instance announces a checked URL.
    }
  }
  return out;
}
