/** PROTOCOL.md §2.9 states the relay's defaults: this keeps that table equal to config.ts. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultRelayConfig, type RelayConfig } from '../src/config.js';
import { RELAY_OPTIONS, type RelayOption } from '../src/relay-options.js';
import { CLOSE_HANDSHAKE_MS } from '../src/shutdown-schedule.js';
import { MAX_RECONNECTS_PER_ADDRESS } from '../src/rooms.js';

const doc = readFileSync(new URL('../../packages/protocol/PROTOCOL.md', import.meta.url), 'utf8');
const KiB = 1024;
const MiB = 1024 * KiB;

/** The options of the limits table (the others say where to listen and what to offer, not how much). */
const LIMITS: readonly (keyof RelayConfig)[] = [
  'maxConnections',
  'maxConnectionsPerIp',
  'maxNameplates',
  'maxNameplate',
  'nameplateTtlMs',
  'idleTimeoutMs',
  'pingIntervalMs',
  'failedClaimsPerMinute',
  'maxMessageBytes',
  'maxFrameBytes',
  'highWaterMark',
  'transferByteCap',
  'graceMs',
];

/** A default as the table writes it: 4,096 · 600 s · 1 MiB · 1,048,605 bytes. */
function shown(option: RelayOption, value: number): string {
  if (option.kind === 'seconds') return `${value / 1000} s`;
  if (option.kind !== 'bytes' || value === 0) return value.toLocaleString('en-US');
  if (value % MiB === 0) return `${value / MiB} MiB`;
  if (value % KiB === 0) return `${value / KiB} KiB`;
  return `${value.toLocaleString('en-US')} bytes`;
}

describe('PROTOCOL.md, relay defaults', () => {
  it('lists every limit with the default config.ts gives it', () => {
    for (const key of LIMITS) {
      const option = RELAY_OPTIONS.find((o) => o.key === key)!;
      const value = defaultRelayConfig[key] as number;
      expect(doc, key).toContain(`| \`--${option.flag}\` | ${shown(option, value)} |`);
    }
  });

  it('names the relay as its welcome does, and splits the grace period as the shutdown does', () => {
    expect(doc).toContain(`{"type":"welcome","protocol":1,"relay":"${defaultRelayConfig.name}"}`);
    expect(doc).toContain(`minus its last quarter (at most ${CLOSE_HANDSHAKE_MS / 1000} s)`);
  });

  it('bounds the reconnect ids an address may have waiting as the rooms do (§2.13)', () => {
    expect(doc).toContain(`| \`MAX_RECONNECTS_PER_ADDRESS\` | ${MAX_RECONNECTS_PER_ADDRESS} |`);
    expect(doc).toContain(`\`MAX_RECONNECTS_PER_ADDRESS\` = ${MAX_RECONNECTS_PER_ADDRESS} waiting at once`);
  });
});

describe('PROTOCOL.md §11.3 and §11.4, drops', () => {
  it('lists every refusal with the status the relay sends', async () => {
    const { DROP_REFUSALS } = await import('../src/drop-refusal.js');
    for (const [code, status] of Object.entries(DROP_REFUSALS))
      expect(doc, code).toContain(`| ${status} | \`${code}\` |`);
  });

  it('lists every drop option with its default', () => {
    const GiB = 1024 * MiB;
    const keys: (keyof RelayConfig)[] = [
      'dropMaxBytes',
      'dropTotalBytes',
      'dropMaxExpiryMs',
      'dropPerAddress',
      'dropBytesPerAddress',
      'dropSweepIntervalMs',
    ];
    for (const key of keys) {
      const option = RELAY_OPTIONS.find((o) => o.key === key)!;
      const value = defaultRelayConfig[key] as number;
      const text =
        option.kind === 'bytes'
          ? `${value / GiB} GiB`
          : option.kind === 'seconds'
            ? `${value / 1000} s`
            : String(value);
      expect(doc, key).toContain(`| \`--${option.flag}\` | ${text} |`);
    }
  });
});
