/**
 * The receiver's half of LAN discovery (PROTOCOL.md §7): listen for announcements of one nameplate, ask
 * for them (queries at once and then every second, which senders answer without waiting for their next round),
 * and hand out each distinct candidate relay — the packet's source address plus the announced port — once, in
 * the order they were heard. At most `maxCandidates` are ever kept, so a flood of forged announcements costs the
 * receiver a bounded amount of work.
 */
import type { RemoteInfo } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { PROTOCOL_VERSION, RELAY_PATH } from '@portunus/protocol';
import { encodeLanDatagram, type LanDatagram } from './datagram.js';
import { openLanSocket, type LanSocket } from './lan-socket.js';
import type { Ipv4Interface } from './targets.js';
import { Wakeup } from '@portunus/client';

export interface Candidate {
  /** Source address of the announcement (never an address taken from the datagram's body). */
  address: string;
  port: number;
  /** ws://address:port/v1 */
  url: string;
}

export interface DiscoveryOptions {
  nameplate: number;
  port: number;
  group: string;
  interfaces: () => readonly Ipv4Interface[];
  debug: (message: string) => void;
  /** Distinct candidates kept in total (default 8). */
  maxCandidates?: number;
  /** Delays before the first queries (ms); after them, every `queryIntervalMs`. */
  queryBurstMs?: readonly number[];
  queryIntervalMs?: number;
  /** Called after each well-formed datagram has been handled (tests wait on it instead of sleeping). */
  onHeard?: (d: LanDatagram, from: RemoteInfo) => void;
}

export interface Discovery {
  /** The next candidate not handed out yet; undefined once `signal` has aborted and none is left. */
  next(signal: AbortSignal): Promise<Candidate | undefined>;
  close(): Promise<void>;
}

const DEFAULT_MAX_CANDIDATES = 8;
const DEFAULT_QUERY_BURST_MS = [0, 250];
const DEFAULT_QUERY_INTERVAL_MS = 1000;

export async function startDiscovery(opts: DiscoveryOptions): Promise<Discovery> {
  const discovery = new UdpDiscovery(opts);
  await discovery.open();
  return discovery;
}

class UdpDiscovery implements Discovery {
  private socket: LanSocket | undefined;
  private readonly seen = new Set<string>();
  private readonly queue: Candidate[] = [];
  private readonly changes = new Wakeup();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly query: Uint8Array;

  constructor(private readonly opts: DiscoveryOptions) {
    this.query = encodeLanDatagram({ kind: 'query', version: PROTOCOL_VERSION, nameplate: opts.nameplate });
  }

  async open(): Promise<void> {
    this.socket = await openLanSocket({
      port: this.opts.port,
      group: this.opts.group,
      interfaces: this.opts.interfaces,
      debug: this.opts.debug,
      onDatagram: (d, from) => this.socketOnDatagram(d, from),
    });
    this.scheduleQuery(0);
  }

  private scheduleQuery(round: number): void {
    if (this.closed) return;
    const burst = this.opts.queryBurstMs ?? DEFAULT_QUERY_BURST_MS;
    this.timer = setTimeout(
      () => {
        void this.socket!.sendToAll(this.query).then(() => this.scheduleQuery(round + 1));
      },
      burst[round] ?? this.opts.queryIntervalMs ?? DEFAULT_QUERY_INTERVAL_MS,
    );
    this.timer.unref();
  }

  private socketOnDatagram(d: LanDatagram, from: RemoteInfo): void {
    this.consider(d, from);
    this.opts.onHeard?.(d, from);
  }

  private consider(d: LanDatagram, from: RemoteInfo): void {
    if (d.kind !== 'announce' || d.nameplate !== this.opts.nameplate) return;
    if (!isIPv4(from.address)) return;
    const url = `ws://${from.address}:${d.port}${RELAY_PATH}`;
    if (this.seen.has(url) || this.seen.size >= (this.opts.maxCandidates ?? DEFAULT_MAX_CANDIDATES)) return;
    this.seen.add(url);
    this.opts.debug(`LAN: sender announced at ${from.address}:${d.port}`);
    this.queue.push({ address: from.address, port: d.port, url });
    this.changes.wake();
  }

  async next(signal: AbortSignal): Promise<Candidate | undefined> {
    for (;;) {
      const candidate = this.queue.shift();
      if (candidate !== undefined) return candidate;
      if (signal.aborted || this.closed) return undefined;
      const woken = this.changes.next();
      const onAbort = () => this.changes.wake();
      signal.addEventListener('abort', onAbort, { once: true });
      await woken;
      signal.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.changes.wake();
    await this.socket?.close();
  }
}
