/**
 * Prometheus metrics of one relay, in a Registry of its own: several relays in one process (tests, embedding)
 * never share or clash on prom-client's global default registry.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { RejectReason, RelayObserver } from './relay-observer.js';

export interface GaugeSource {
  connections(): number;
  nameplates(): number;
  burnedNameplates(): number;
  pairedRooms(): number;
}

export class RelayMetrics implements RelayObserver {
  readonly registry = new Registry();
  private readonly bytes: Counter;
  private readonly transfers: Counter<'outcome'>;
  private readonly rejections: Counter<'reason'>;
  private readonly pairings: Counter;
  private readonly unpairings: Counter;
  private readonly burns: Counter;
  private readonly seats: Counter;

  constructor(source: GaugeSource, options: { processMetrics: boolean }) {
    const registers = [this.registry];
    new Gauge({
      name: 'portunus_relay_connections',
      help: 'Open WebSocket connections.',
      registers,
      collect() {
        this.set(source.connections());
      },
    });
    new Gauge({
      name: 'portunus_relay_nameplates',
      help: 'Nameplates in use (waiting or paired), each seat counted.',
      registers,
      collect() {
        this.set(source.nameplates());
      },
    });
    new Gauge({
      name: 'portunus_relay_burned_nameplates',
      help: 'Burned nameplates remembered (kept apart from the nameplates in use).',
      registers,
      collect() {
        this.set(source.burnedNameplates());
      },
    });
    new Gauge({
      name: 'portunus_relay_paired_rooms',
      help: 'Rooms whose two sides are connected.',
      registers,
      collect() {
        this.set(source.pairedRooms());
      },
    });
    this.bytes = new Counter({
      name: 'portunus_relay_bytes_relayed_total',
      help: 'Binary bytes piped between peers.',
      registers,
    });
    this.transfers = new Counter({
      name: 'portunus_relay_transfers_total',
      help: 'Transfers reported done by a client, once per room, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    this.rejections = new Counter({
      name: 'portunus_relay_rejections_total',
      help: 'Connections or messages the relay refused, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.pairings = new Counter({ name: 'portunus_relay_pairings_total', help: 'Rooms paired.', registers });
    this.unpairings = new Counter({
      name: 'portunus_relay_unpairings_total',
      help: 'Rooms back to waiting because side b left before the key exchange completed.',
      registers,
    });
    this.burns = new Counter({
      name: 'portunus_relay_burns_total',
      help: 'Nameplates burned after failed key confirmation.',
      registers,
    });
    this.seats = new Counter({
      name: 'portunus_relay_seats_joined_total',
      help: 'Seats taken by join: a sender serving several receivers under one code (send --count).',
      registers,
    });
    // Zero-valued series exist from the start, so dashboards and alerts see them before the first event.
    this.transfers.inc({ outcome: 'completed' }, 0);
    this.transfers.inc({ outcome: 'failed' }, 0);
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  rejected(reason: RejectReason): void {
    this.rejections.inc({ reason });
  }

  paired(): void {
    this.pairings.inc();
  }

  unpaired(): void {
    this.unpairings.inc();
  }

  seatJoined(): void {
    this.seats.inc();
  }

  burned(): void {
    this.burns.inc();
  }

  transfer(ok: boolean): void {
    this.transfers.inc({ outcome: ok ? 'completed' : 'failed' });
  }

  relayed(bytes: number): void {
    this.bytes.inc(bytes);
  }
}
