/**
 * PROTOCOL.md states the figures the CLI's data plane, paths and LAN mode run with (§4.11, §5, §6, §7): this keeps
 * them equal to the constants in cli/src.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HIGH_WATER_BYTES } from '../src/relay-client/data-inbox.js';
import {
  abilitiesFor,
  ACK_DELAY_MS,
  ACK_EVERY_BYTES,
  DATA_CHANNEL_LABEL,
  DEFAULT_STALL_TIMEOUT_MS,
  DRAIN_MS,
  RECONNECT_FIRST_DELAY_MS,
  RECONNECT_MAX_DELAY_MS,
  WEBRTC_AFTER_MS,
  RELAY_WINDOW_BYTES,
  WINDOW_BYTES,
} from '@portunus/client';
import { DIAL_TIMEOUT_MS, MAX_INBOUND, PARALLEL_DIALS } from '../src/transport/tcp-connect.js';
import { CHOSEN, HANDSHAKE_TIMEOUT_MS } from '../src/transport/tcp-handshake.js';
import { HIGH_WATER_BYTES as TCP_HIGH_WATER_BYTES, INBOX_HIGH_BYTES } from '../src/transport/tcp.js';
import { DIRECT_CHUNK_BYTES, HIGH_WATER_BYTES as WERIFT_HIGH_WATER_BYTES } from '../src/transport/webrtc.js';
import { CHECKPOINT_BYTES, MAX_CHECKPOINT_BYTES } from '../src/files/resume-state.js';
import { isInterruption } from '../src/transfer/resume.js';
import { ERRORS, type ErrorCode } from '@portunus/protocol';
import { LAN_DATAGRAM_BYTES } from '../src/lan/datagram.js';
import { EMBEDDED_CLOSE_GRACE_MS, EMBEDDED_RELAY_NAME } from '../src/lan/embedded-relay.js';
import { MAX_LAN_NAMEPLATE } from '../src/lan/lan-host.js';
import { CANDIDATE_CONNECT_TIMEOUT_MS } from '../src/lan/lan-join.js';
import { DEFAULT_DISCOVER_TIMEOUT_S, MAX_DISCOVER_TIMEOUT_S } from '../src/lan/lan-settings.js';
import { LAN_GROUP, LAN_PORT, MAX_LAN_INTERFACES } from '../src/lan/targets.js';

const doc = readFileSync(new URL('../../packages/protocol/PROTOCOL.md', import.meta.url), 'utf8');
/** The doc with every line break and indent folded to one space, for sentences that wrap. */
const flat = doc.replace(/\s+/g, ' ');
const MiB = 1024 * 1024;
const KiB = 1024;

/** A row of one of the doc's constant tables. */
const row = (name: string, value: string | number): string => `| \`${name}\` | ${value} |`;

describe('PROTOCOL.md, the CLI figures', () => {
  it('states the data plane as the sender and the receiver run it', () => {
    expect(doc).toContain(row('WINDOW_BYTES', `${WINDOW_BYTES / MiB} MiB`));
    expect(doc).toContain(row('RELAY_WINDOW_BYTES', `${RELAY_WINDOW_BYTES / MiB} MiB`));
    expect(doc).toContain(row('DRAIN_MS', `${DRAIN_MS / 1000} s`));
    expect(doc).toContain(row('ACK_EVERY_BYTES', `${ACK_EVERY_BYTES / MiB} MiB`));
    expect(doc).toContain(row('ACK_DELAY_MS', `${ACK_DELAY_MS} ms`));
    expect(flat).toContain(`(\`--stall-timeout\`, default ${DEFAULT_STALL_TIMEOUT_MS / 1000} s)`);
    expect(flat).toContain(`below its high-water mark (${DEFAULT_HIGH_WATER_BYTES / MiB} MiB)`);
  });

  it('states how a lost relay connection is reconnected (§2.13)', () => {
    expect(doc).toContain(row('RECONNECT_FIRST_DELAY_MS', `${RECONNECT_FIRST_DELAY_MS} ms`));
    expect(doc).toContain(row('RECONNECT_MAX_DELAY_MS', `${RECONNECT_MAX_DELAY_MS} ms`));
    expect(flat).toContain(`\`RECONNECT_FIRST_DELAY_MS\` = ${RECONNECT_FIRST_DELAY_MS} ms`);
    expect(flat).toContain(`\`RECONNECT_MAX_DELAY_MS\` = ${RECONNECT_MAX_DELAY_MS} ms`);
  });

  it('states what a resume keeps, and after which failures (§4.12)', () => {
    expect(doc).toContain(row('CHECKPOINT_BYTES', `${CHECKPOINT_BYTES / MiB} MiB`));
    expect(doc).toContain(row('MAX_CHECKPOINT_BYTES', `${MAX_CHECKPOINT_BYTES / MiB} MiB`));
    expect(flat).toContain(
      `1/64 of the offer's size, within \`CHECKPOINT_BYTES\` (${CHECKPOINT_BYTES / MiB} MiB) .. ` +
        `\`MAX_CHECKPOINT_BYTES\` (${MAX_CHECKPOINT_BYTES / MiB} MiB)`,
    );
    const kept = (Object.keys(ERRORS) as ErrorCode[]).filter(isInterruption);
    const listed = /A receive that fails with (.*?) keeps the pair/.exec(flat)![1]!;
    expect([...listed.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]).sort()).toEqual(kept.sort());
  });

  it('states how the paths come up and the figures they run with', () => {
    expect(flat).toContain(`${JSON.stringify(abilitiesFor(['relay', 'tcp', 'webrtc']))}\` with \`--transport auto\``);
    expect(doc).toContain(row('WEBRTC_AFTER_MS', `${WEBRTC_AFTER_MS / 1000} s`));
    expect(doc).toContain(row('PARALLEL_DIALS', PARALLEL_DIALS));
    expect(doc).toContain(row('DIAL_TIMEOUT_MS', `${DIAL_TIMEOUT_MS / 1000} s`));
    expect(doc).toContain(row('MAX_INBOUND', MAX_INBOUND));
    expect(doc).toContain(row('HANDSHAKE_TIMEOUT_MS', `${HANDSHAKE_TIMEOUT_MS / 1000} s`));
    expect(doc).toContain(`receiver  → 0x${CHOSEN.toString(16).padStart(2, '0')} on the one connection it keeps`);
    expect(flat).toContain(`once more than ${TCP_HIGH_WATER_BYTES / MiB} MiB are queued in its socket`);
    expect(flat).toContain(`while more than ${INBOX_HIGH_BYTES / MiB} MiB of frames wait for the consumer`);
    expect(doc).toContain(row('DIRECT_CHUNK_BYTES', `${DIRECT_CHUNK_BYTES / KiB} KiB`));
    expect(flat).toContain(`keeps at most ${WERIFT_HIGH_WATER_BYTES / KiB} KiB queued in the channel with werift`);
    expect(doc).toContain(`data channel labelled\n\`${DATA_CHANNEL_LABEL}\``);
  });

  it('states LAN mode as the sender and the receiver run it', () => {
    expect(doc).toContain(row('LAN_PORT', LAN_PORT));
    expect(doc).toContain(row('LAN_GROUP', LAN_GROUP));
    expect(doc).toContain(row('LAN_DATAGRAM_BYTES', `${LAN_DATAGRAM_BYTES} bytes`));
    expect(doc).toContain(row('MAX_LAN_NAMEPLATE', MAX_LAN_NAMEPLATE.toLocaleString('en-US')));
    expect(doc).toContain(row('MAX_LAN_INTERFACES', MAX_LAN_INTERFACES));
    expect(doc).toContain(row('EMBEDDED_RELAY_NAME', EMBEDDED_RELAY_NAME));
    expect(doc).toContain(row('CANDIDATE_CONNECT_TIMEOUT_MS', `${CANDIDATE_CONNECT_TIMEOUT_MS / 1000} s`));
    expect(flat).toContain(`(paired rooms get ${EMBEDDED_CLOSE_GRACE_MS / 1000} s to finish)`);
    expect(flat).toContain(`(default ${DEFAULT_DISCOVER_TIMEOUT_S}, 0.1..${MAX_DISCOVER_TIMEOUT_S})`);
  });
});
