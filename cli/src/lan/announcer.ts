/**
 * The sender's half of LAN discovery (PROTOCOL.md §7): announce `{nameplate, relay port, version}` to the
 * local network — a quick burst, then once a second — and answer a receiver's query for our nameplate at once, so
 * discovery usually takes one round trip instead of up to a second. Runs until stopped (the sender stops it when a
 * receiver pairs or the sender exits).
 */
import { PROTOCOL_VERSION } from '@portunus/protocol';
import { encodeLanDatagram, type LanDatagram } from './datagram.js';
import { openLanSocket, type LanSocket } from './lan-socket.js';
import type { Ipv4Interface } from './targets.js';

export interface AnnouncerOptions {
  nameplate: number;
  /** TCP port of the embedded relay. */
  relayPort: number;
  /** Discovery port and group (LAN_PORT, LAN_GROUP unless overridden). */
  port: number;
  group: string;
  interfaces: () => readonly Ipv4Interface[];
  debug: (message: string) => void;
  /** Delays before the first rounds (ms); after them, every `intervalMs`. */
  burstMs?: readonly number[];
  intervalMs?: number;
  /** Milliseconds, monotonic (performance.now by default). */
  now?: () => number;
  /** Called for every query heard, saying whether it was answered (tests wait on it instead of sleeping). */
  onQuery?: (answered: boolean) => void;
}

export interface Announcer {
  /** Rounds sent so far (a round is one datagram to every target). */
  readonly rounds: number;
  stop(): Promise<void>;
}

const DEFAULT_BURST_MS = [0, 200, 500];
const DEFAULT_INTERVAL_MS = 1000;
/** Least time between two rounds triggered by queries: a query flood cannot make us flood. */
const QUERY_GAP_MS = 100;

export async function startAnnouncer(opts: AnnouncerOptions): Promise<Announcer> {
  const announcer = new UdpAnnouncer(opts);
  await announcer.open();
  return announcer;
}

class UdpAnnouncer implements Announcer {
  rounds = 0;
  private socket: LanSocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private sending: Promise<void> | undefined;
  private lastQueryRound = -Infinity;
  private readonly datagram: Uint8Array;

  constructor(private readonly opts: AnnouncerOptions) {
    this.datagram = encodeLanDatagram({
      kind: 'announce',
      version: PROTOCOL_VERSION,
      nameplate: opts.nameplate,
      port: opts.relayPort,
    });
  }

  async open(): Promise<void> {
    const base = {
      port: this.opts.port,
      group: this.opts.group,
      interfaces: this.opts.interfaces,
      debug: this.opts.debug,
      onDatagram: (d: LanDatagram) => this.socketOnDatagram(d),
    };
    try {
      this.socket = await openLanSocket(base);
    } catch (err) {
      // The port is held without SO_REUSEADDR by another program: announce anyway, just without hearing queries.
      this.opts.debug(`cannot listen on UDP ${this.opts.port} (${(err as Error).message}); announcing only`);
      this.socket = await openLanSocket({ ...base, bindPort: 0 });
    }
    this.schedule(0);
  }

  private schedule(round: number): void {
    if (this.stopped) return;
    const burst = this.opts.burstMs ?? DEFAULT_BURST_MS;
    const delay = burst[round] ?? this.opts.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.timer = setTimeout(() => {
      void this.announce().then(() => this.schedule(round + 1));
    }, delay);
    this.timer.unref();
  }

  private socketOnDatagram(d: LanDatagram): void {
    if (d.kind !== 'query') return;
    const answered = this.answerable(d.nameplate);
    if (answered) void this.announce();
    this.opts.onQuery?.(answered);
  }

  private answerable(nameplate: number): boolean {
    if (nameplate !== this.opts.nameplate) return false;
    const now = this.opts.now ? this.opts.now() : performance.now();
    if (now - this.lastQueryRound < QUERY_GAP_MS) return false;
    this.lastQueryRound = now;
    return true;
  }

  /** One round; a round already under way is not doubled. */
  private announce(): Promise<void> {
    if (this.stopped || this.socket === undefined) return Promise.resolve();
    this.sending ??= this.socket
      .sendToAll(this.datagram)
      .then(
        (n) => {
          this.rounds++;
          if (n === 0) this.opts.debug('LAN announcement reached no interface');
        },
        (err: unknown) => this.opts.debug(`LAN announcement failed: ${(err as Error).message}`),
      )
      .finally(() => (this.sending = undefined));
    return this.sending;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sending;
    await this.socket?.close();
  }
}
