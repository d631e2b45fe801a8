/** The drop metrics (PROTOCOL.md §11.4), registered in the relay's own registry beside the relay's (metrics.ts). */
import { Counter, Gauge, type Registry } from 'prom-client';
import { DROP_REFUSALS, type DropRefusalCode } from './drop-refusal.js';
import type { DropObserver, DropStats } from './drops.js';

export interface DropGaugeSource {
  stats(): DropStats;
}

export class DropMetrics implements DropObserver {
  private readonly uploads: Counter;
  private readonly downloads: Counter;
  private readonly refusals: Counter<'code'>;

  constructor(registry: Registry, source: () => DropGaugeSource | undefined) {
    const registers = [registry];
    new Gauge({
      name: 'portunus_relay_drops',
      help: 'Drops stored (uploading or complete, until their last download or expiry).',
      registers,
      collect() {
        this.set(source()?.stats().drops ?? 0);
      },
    });
    new Gauge({
      name: 'portunus_relay_drop_bytes',
      help: 'Bytes the stored drops hold or have reserved (their announced lengths).',
      registers,
      collect() {
        this.set(source()?.stats().bytes ?? 0);
      },
    });
    new Gauge({
      name: 'portunus_relay_drop_downloads_sending',
      help: 'Drop downloads (responses) being sent.',
      registers,
      collect() {
        this.set(source()?.stats().sending ?? 0);
      },
    });
    this.uploads = new Counter({
      name: 'portunus_relay_drop_uploads_total',
      help: 'Drop uploads completed.',
      registers,
    });
    this.downloads = new Counter({
      name: 'portunus_relay_drop_downloads_total',
      help: 'Drop downloads completed (a response with the last byte written whole).',
      registers,
    });
    this.refusals = new Counter({
      name: 'portunus_relay_drop_refusals_total',
      help: 'Drop requests refused, by Portunus-Error code.',
      labelNames: ['code'],
      registers,
    });
    for (const code of Object.keys(DROP_REFUSALS)) this.refusals.inc({ code }, 0);
  }

  uploadCompleted(): void {
    this.uploads.inc();
  }

  downloadCompleted(): void {
    this.downloads.inc();
  }

  refused(code: DropRefusalCode): void {
    this.refusals.inc({ code });
  }
}
