/**
 * `startRelay`: the HTTP server, the WebSocket upgrade on RELAY_PATH and the timers, wired to the core (decisions)
 * and the socket table (I/O). Everything a client sends goes to the core first.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { PROTOCOL_VERSION, type RandomBytes, RELAY_PATH, secureRandomBytes } from '@portunus/protocol';
import { clientAddress, proxyTrust, type ProxyTrust } from './address.js';
import { resolveRelayConfig, type RelayConfig } from './config.js';
import { Cluster, type Admission } from './cluster.js';
import { RelayCore, type CoreStats } from './core.js';
import { handleHttpRequest, type Health } from './http.js';
import { listeningUrls } from './listening-urls.js';
import { silentLogger, type Logger } from './logger.js';
import { RelayMetrics, type GaugeSource } from './metrics.js';
import { loadPage, type PageFiles } from './page-files.js';
import { PreUpgradeSockets } from './pre-upgrade-sockets.js';
import { openRedis } from './redis.js';
import { RelayDrops } from './relay-drops.js';
import { shutdownSchedule } from './shutdown-schedule.js';
import { attachSocket, isRelayPath, rejectUpgrade } from './socket-events.js';
import { Sockets, type SocketStats } from './sockets.js';
import { packageVersion } from './version.js';

export interface RelayDeps {
  logger?: Logger;
  /** Milliseconds, like Date.now. */
  clock?: () => number;
  random?: RandomBytes;
  /** Where an S3 `--storage` finds its endpoint, region and credentials (AWS_*); process.env by default. */
  env?: Record<string, string | undefined>;
}

export interface RelayStats extends SocketStats, CoreStats {
  /** Raw TCP sockets counted per address before their WebSocket upgrade. */
  preUpgradeSockets: number;
}

export interface RelayHandle {
  /** ws://host:port/v1, host as configured (0.0.0.0 for every interface). */
  readonly url: string;
  /** URLs a client can use (listening-urls.ts): each interface address when bound to a wildcard address. */
  readonly urls: readonly string[];
  readonly host: string;
  readonly port: number;
  readonly config: Readonly<RelayConfig>;
  /** The relay serves the page at `/` (PROTOCOL.md §2.12), and its welcome says so. */
  readonly servesPage: boolean;
  /**
   * Stops accepting and closes what is not paired with RELAY_SHUTDOWN (4010); paired rooms get to finish, then are
   * closed the same way; resolves within `graceMs` (shutdown-schedule.ts). A second close(0) cuts the drain short.
   */
  close(graceMs?: number): Promise<void>;
  /** Prometheus text, as served on /metrics. */
  metrics(): Promise<string>;
  stats(): RelayStats;
  health(): Health;
}

export async function startRelay(partial: Partial<RelayConfig>, deps: RelayDeps = {}): Promise<RelayHandle> {
  const relay = new Relay(resolveRelayConfig(partial), deps);
  await relay.drops.open(deps.env ?? process.env);
  await relay.listen();
  return relay.handle();
}

/** One running relay: owns the HTTP server, the WebSocket server, the core, the socket table and the timers. */
class Relay {
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly startedAt: number;
  private readonly version = packageVersion();
  private readonly metrics: RelayMetrics;
  private readonly core: RelayCore;
  private readonly sockets: Sockets;
  private readonly preUpgrade: PreUpgradeSockets;
  private readonly trust: ProxyTrust | undefined;
  private readonly page: PageFiles | undefined;
  readonly drops: RelayDrops;
  /** One of several instances sharing a Redis (`--redis`, PROTOCOL.md §12). */
  private readonly cluster: Cluster | undefined;
  /** The X-Forwarded-For warning is logged once: behind a proxy it would otherwise come with every connection. */
  private warnedForwardedFor = false;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly timers: NodeJS.Timeout[] = [];
  private draining = false;
  private closing: Promise<void> | undefined;
  private cutGrace: () => void = () => {};

  constructor(
    private readonly config: RelayConfig,
    deps: RelayDeps,
  ) {
    this.clock = deps.clock ?? Date.now;
    this.logger = deps.logger ?? silentLogger;
    this.startedAt = this.clock();
    const gauges: GaugeSource = {
      connections: () => this.core.stats().connections,
      nameplates: () => this.core.stats().nameplates,
      burnedNameplates: () => this.core.stats().burnedNameplates,
      pairedRooms: () => this.core.stats().pairedRooms,
    };
    this.metrics = new RelayMetrics(gauges, { processMetrics: config.processMetrics });
    const random = deps.random ?? secureRandomBytes;
    this.page = config.noPage ? undefined : loadPage(config.pageDir);
    const servesPage = this.page !== undefined;
    const cluster = config.redis !== undefined;
    const shared = {
      failedClaim: (key: string) => this.cluster?.state.failedClaim(key),
      burned: (n: number) => this.cluster?.state.burned(n),
    };
    this.core = new RelayCore(
      { ...config, servesPage, cluster },
      { random, observer: this.metrics, logger: this.logger, ...(cluster ? { shared } : {}) },
    );
    this.sockets = new Sockets({
      highWaterMark: config.highWaterMark,
      logger: this.logger,
      cluster: (action) => this.cluster?.perform(action),
    });
    if (config.redis !== undefined) {
      const deps = { core: () => this.core, sockets: this.sockets, logger: this.logger, clock: this.clock };
      this.cluster = new Cluster(config, openRedis(config.redis, this.logger), {
        ...deps,
        registry: this.metrics.registry,
      });
    }
    this.trust = proxyTrust(config.trustProxy);
    this.preUpgrade = new PreUpgradeSockets({
      perAddress: config.maxConnectionsPerIp,
      trust: this.trust,
      onRefused: () => this.metrics.rejected('limit'),
      exempt: (peer) => this.cluster?.isInstanceAddress(peer) === true,
    });
    this.drops = new RelayDrops(config, {
      registry: this.metrics.registry,
      clock: this.clock,
      random,
      logger: this.logger,
      trust: this.trust,
      draining: () => this.draining,
    });
    const routes = {
      health: () => this.health(),
      metrics: async () => ({ contentType: this.metrics.contentType, body: await this.metrics.text() }),
      page: this.page,
      drops: this.drops.http,
      logger: this.logger,
    };
    this.server = createServer((req, res) => handleHttpRequest(routes, req, res));
    this.server.headersTimeout = 10_000;
    // An upload's PATCH body may take long; drop-http.ts cuts one that stalls instead.
    this.server.requestTimeout = config.storage === undefined ? 15_000 : 0;
    // A backstop against raw TCP floods; WebSocket limits are enforced (with a close code) by the core.
    this.server.maxConnections = config.maxConnections * 2 + 64;
    this.server.on('connection', (socket: Socket) => this.preUpgrade.accept(socket));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.serverOnUpgrade(req, socket, head),
    );
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: Math.max(config.maxMessageBytes, config.maxFrameBytes),
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    if (this.cluster !== undefined) await this.startCluster();
    const { nameplateTtlMs, idleTimeoutMs, pingIntervalMs } = this.config;
    const sweepMs = Math.min(1000, Math.max(10, Math.min(nameplateTtlMs, idleTimeoutMs) / 4));
    this.timers.push(setInterval(() => this.sockets.perform(this.core.tick(this.clock())), sweepMs));
    this.timers.push(setInterval(() => this.sockets.keepalive(), pingIntervalMs));
    for (const timer of this.timers) timer.unref();
  }

  /** Announces this instance; a relay whose Redis is down still starts (and says so in /healthz). */
  private async startCluster(): Promise<void> {
    const address = this.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : this.config.port;
    const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
    await this.cluster!.ready();
    this.cluster!.start(this.config.advertise?.replace(/\/$/, '') ?? `ws://${host}:${port}`);
  }

  handle(): RelayHandle {
    const address = this.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : this.config.port;
    const host = this.config.host;
    const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}${RELAY_PATH}`;
    const urls = listeningUrls(host, port, networkInterfaces());
    this.logger.info('listening', { url, urls: urls.join(' ') });
    return {
      url,
      urls,
      host,
      port,
      config: this.config,
      servesPage: this.page !== undefined,
      close: (graceMs) => this.close(graceMs),
      metrics: () => this.metrics.text(),
      stats: () => ({ ...this.core.stats(), ...this.sockets.stats(), preUpgradeSockets: this.preUpgrade.size }),
      health: () => this.health(),
    };
  }

  private health(): Health {
    const { connections, nameplates } = this.core.stats();
    const uptime = Math.max(0, Math.round((this.clock() - this.startedAt) / 1000));
    const status = this.draining ? 'draining' : 'ok';
    const health: Health = {
      status,
      version: this.version,
      protocol: PROTOCOL_VERSION,
      connections,
      nameplates,
      uptime,
    };
    return this.cluster === undefined ? health : { ...health, redis: this.cluster.status() };
  }

  private serverOnUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.preUpgrade.upgrading(socket);
    socket.on('error', () => socket.destroy());
    if (this.trust === undefined && req.headers['x-forwarded-for'] !== undefined && !this.warnedForwardedFor) {
      this.warnedForwardedFor = true;
      this.logger.warn('X-Forwarded-For ignored', {
        reason: 'trust-proxy is off, so clients behind a proxy share its address and its limits',
        fix: 'pass --trust-proxy with the proxy addresses (PORTUNUS_RELAY_TRUST_PROXY)',
      });
    }
    if (!isRelayPath(req.url)) return rejectUpgrade(socket, 404, 'Not Found');
    if (this.draining) return rejectUpgrade(socket, 503, 'Service Unavailable');
    const address = clientAddress(req, this.trust);
    const accept = (admission: Admission): void =>
      this.wss.handleUpgrade(req, socket, head, (ws) => this.wssOnConnection(ws, admission));
    if (this.cluster === undefined) return accept({ address, counted: false });
    void this.cluster.upgrade(req, socket, address, accept);
  }

  private wssOnConnection(ws: WebSocket, admission: Admission): void {
    const { address, link, refused } = admission;
    const { conn, actions } = this.core.open(address, this.clock(), { link, refused });
    this.sockets.add(conn, ws);
    this.cluster?.opened(conn, admission);
    this.logger.debug('connected', { conn, ip: address });
    const { core, sockets, clock, logger, cluster } = this;
    attachSocket(conn, ws, { core, sockets, clock, logger, cluster });
    this.sockets.perform(actions);
  }

  private close(graceMs = this.config.graceMs): Promise<void> {
    if (this.closing !== undefined) {
      if (graceMs <= 0) this.cutGrace();
      return this.closing;
    }
    this.draining = true;
    const graceCut = new Promise<void>((resolve) => (this.cutGrace = resolve));
    this.closing = this.drain(graceMs, graceCut);
    return this.closing;
  }

  private async drain(graceMs: number, graceCut: Promise<void>): Promise<void> {
    const { drainMs, handshakeMs } = shutdownSchedule(graceMs);
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    this.sockets.perform(this.core.shutdown(this.clock()));
    await this.cluster?.leave();
    this.logger.info('draining', { connections: this.sockets.size, graceMs });
    // Paired rooms and drop uploads or downloads under way get the same drain to finish.
    await Promise.all([
      this.sockets.waitUntilEmpty(drainMs, graceCut),
      this.drops.http.waitUntilIdle(drainMs, graceCut),
    ]);
    this.sockets.perform(this.core.closeAll());
    await this.sockets.waitUntilEmpty(handshakeMs);
    this.sockets.terminateAll();
    for (const timer of this.timers) clearInterval(timer);
    this.server.closeAllConnections();
    await serverClosed;
    // Records being written (a completed upload, a slot taken) land before the relay says it stopped.
    await this.drops.close();
    await this.cluster?.close();
    this.logger.info('stopped');
  }
}
