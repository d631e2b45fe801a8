/**
 * PROTOCOL.md is the spec; these checks keep the parts of it that mirror code from drifting, and its section numbers
 * usable: every § in it, and every citation of it in the repository ("PROTOCOL.md §4.11", or a link to a heading),
 * names a real section. The relay's defaults and the CLI's figures are checked beside their code (relay/test,
 * cli/test: protocol-doc.test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../src/errors.js';
import { CROCKFORD_ALPHABET, MAX_SECRET_LENGTH, MIN_SECRET_LENGTH } from '../src/code.js';
import { frameOverhead, HEADER_BYTES, MAX_FRAME_BYTES, MAX_FRAME_PLAINTEXT, TAG_BYTES } from '../src/frame.js';
import { ACK_STREAM, CONTROL_STREAM, DATA_STREAM } from '../src/streams.js';
import {
  ABILITY_RELAY,
  ABILITY_TCP,
  ABILITY_WEBRTC,
  MAX_PEER_SIGNALS,
  MAX_SEALED_MESSAGE_BYTES,
  MAX_SIGNAL_BODY_BYTES,
} from '../src/peer-messages.js';
import { KEY_LABELS } from '../src/keys.js';
import { DROP_CODE_PREFIX, DROP_SECRET_SYMBOLS } from '../src/drop-code.js';
import { DROP_ID_BYTES, DROP_LABELS } from '../src/drop-keys.js';
import { MAX_DROP_DOWNLOADS } from '../src/drop-api.js';
import { DROP_CHUNK_BYTES, DROP_MAGIC, DROP_RECORD_BYTES } from '../src/drop-format.js';
import { MAX_BUNDLE_ENTRIES } from '../src/offer.js';
import { MAX_HELD_CONTROL, MAX_HELD_CONTROL_BYTES } from '../src/control-order.js';
import { DIRECT_WINDOW_BYTES } from '../src/channel-messages.js';
import { MAX_TCP_HINTS } from '../src/tcp-hints.js';
import { BINDING_LABEL, TCP_BINDING_LABEL, TCP_NONCE_BYTES } from '../src/binding.js';
import { MAX_CANDIDATE_BYTES, MAX_SDP_BYTES, MAX_WEBRTC_ATTEMPTS } from '../src/signal.js';
import { MAX_ICE_SERVERS } from '../src/ice-server.js';
import {
  MAX_SEATS,
  PING_BURST,
  PING_REFILL_MS,
  RECONNECT_ID_BYTES,
  SEAT_TOKEN_BYTES,
  SID_BYTES,
} from '../src/relay-messages.js';
import { MAX_REJOIN_BODY_BYTES, REJOIN_NONCE_BYTES } from '../src/rejoin.js';
import { DEFAULT_CHOOSER } from '../src/path-chooser.js';
import { RELAY_PATH } from '../src/version.js';

const ROOT = new URL('../../../', import.meta.url);
const doc = readFileSync(new URL('../PROTOCOL.md', import.meta.url), 'utf8');
/** The doc with every line break and indent folded to one space, for sentences that wrap. */
const flat = doc.replace(/\s+/g, ' ');
const KiB = 1024;
const MiB = 1024 * KiB;

/** A row of one of the doc's constant tables: `| \`NAME\` | value |`. */
const row = (name: string, value: string | number): string => `| \`${name}\` | ${value} |`;

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
const slug = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
const headings = [...doc.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!);
const sections = new Set(headings.map((h) => /^(\d+(?:\.\d+)?)\.? /.exec(h)?.[1]).filter((n) => n !== undefined));

describe('PROTOCOL.md', () => {
  it('lists every error code with its close code', () => {
    for (const [code, spec] of Object.entries(ERRORS) as [ErrorCode, { close?: number }][]) {
      expect(doc, `row for ${code}`).toContain(`| \`${code}\` | ${spec.close ?? '—'} |`);
    }
  });

  it('bounds the seats of a nameplate as the parser does (§2.4)', () => {
    expect(flat).toContain(`\`MAX_SEATS\` = ${MAX_SEATS}`);
    expect(flat).toContain(`\`MAX_SEATS\` (${MAX_SEATS})`);
    expect(flat).toContain(`\`SEAT_TOKEN_BYTES\` (${SEAT_TOKEN_BYTES}) bytes`);
  });

  it('states the code alphabet and the frame header size the code uses', () => {
    expect(doc).toContain(CROCKFORD_ALPHABET);
    expect(doc).toContain(`allowed ${MIN_SECRET_LENGTH} … ${MAX_SECRET_LENGTH}`);
    expect(doc).toContain(`HEADER_BYTES = ${HEADER_BYTES}`);
    expect(doc).toContain(`TAG_BYTES = ${TAG_BYTES}`);
    expect(doc).toContain(`overhead = ${frameOverhead} bytes`);
    expect(doc).toContain(`MAX_FRAME_PLAINTEXT = ${MAX_FRAME_PLAINTEXT / MiB} MiB`);
    expect(doc).toContain(`${MAX_FRAME_BYTES.toLocaleString('en-US')} bytes\n(\`MAX_FRAME_BYTES\`)`);
  });

  it('states the drop code, labels and stored format the code uses (§11.1, §11.2)', () => {
    expect(doc).toContain(`\`${DROP_CODE_PREFIX}\` and ${DROP_SECRET_SYMBOLS} symbols`);
    expect(doc).toContain(`| \`portunus/1 ${DROP_LABELS.id}\` | ${DROP_ID_BYTES} |`);
    expect(doc).toContain(`| \`portunus/1 ${DROP_LABELS.key}\` | 32 |`);
    expect(doc).toContain(`ASCII "${new TextDecoder().decode(DROP_MAGIC).replace('\n', '\\n')}"`);
    expect(doc).toContain(`${DROP_CHUNK_BYTES.toLocaleString('en-US')} bytes) of plaintext`);
    expect(doc).toContain(`= ${DROP_RECORD_BYTES.toLocaleString('en-US')} bytes`);
    expect(doc).toMatch(new RegExp(`\`downloads\`\\s+\\(1 … ${MAX_DROP_DOWNLOADS}; default 1\\)`));
  });

  it('numbers the streams as the code does', () => {
    expect(doc).toContain(row('CONTROL_STREAM', CONTROL_STREAM));
    expect(doc).toContain(row('DATA_STREAM', DATA_STREAM));
    expect(doc).toContain(row('ACK_STREAM', ACK_STREAM));
    expect(doc).toContain(`stream id  = ${ACK_STREAM} (ACK_STREAM)`);
  });

  it('states the bounds of sealed messages, signals, direct paths and control reordering', () => {
    expect(doc).toContain(row('MAX_SEALED_MESSAGE_BYTES', `${MAX_SEALED_MESSAGE_BYTES / KiB} KiB`));
    expect(doc).toContain(row('MAX_SIGNAL_BODY_BYTES', `${MAX_SIGNAL_BODY_BYTES / KiB} KiB`));
    expect(flat).toContain(`at most ${MAX_SIGNAL_BODY_BYTES.toLocaleString('en-US')} characters once serialized`);
    expect(doc).toContain(row('MAX_PEER_SIGNALS', MAX_PEER_SIGNALS));
    expect(doc).toContain(row('MAX_HELD_CONTROL', MAX_HELD_CONTROL));
    expect(doc).toContain(row('MAX_HELD_CONTROL_BYTES', `${MAX_HELD_CONTROL_BYTES / MiB} MiB`));
    expect(doc).toContain(row('DIRECT_WINDOW_BYTES', `${DIRECT_WINDOW_BYTES / MiB} MiB`));
    expect(doc).toContain(row('MAX_TCP_HINTS', MAX_TCP_HINTS));
    expect(doc).toContain(row('TCP_NONCE_BYTES', `${TCP_NONCE_BYTES} bytes`));
    expect(doc).toContain(row('MAX_SDP_BYTES', `${MAX_SDP_BYTES / KiB} KiB`));
    expect(doc).toContain(`${MAX_SDP_BYTES.toLocaleString('en-US')} characters (\`MAX_SDP_BYTES\`)`);
    expect(doc).toContain(row('MAX_CANDIDATE_BYTES', `${MAX_CANDIDATE_BYTES} bytes`));
    expect(doc).toContain(row('MAX_WEBRTC_ATTEMPTS', MAX_WEBRTC_ATTEMPTS));
    expect(doc).toContain(`| ${MAX_PEER_SIGNALS} | signals a peer may send in one session: 128 per WebRTC attempt`);
    expect(flat).toContain(`an integer 1 … \`MAX_WEBRTC_ATTEMPTS\` − 1`);
    expect(doc).toContain(`at most ${MAX_ICE_SERVERS} entries (\`MAX_ICE_SERVERS\`)`);
    expect(doc).toContain(`base64url of exactly ${SID_BYTES} bytes`);
    expect(doc).toContain(`\`MAX_BUNDLE_ENTRIES\` = ${MAX_BUNDLE_ENTRIES}`);
    expect(doc).toContain(`2 … ${MAX_BUNDLE_ENTRIES.toLocaleString('en-US')} of`);
    expect(doc).toContain(row('RECONNECT_ID_BYTES', RECONNECT_ID_BYTES));
    expect(doc).toContain(`exactly ${RECONNECT_ID_BYTES} bytes (\`RECONNECT_ID_BYTES\`)`);
    expect(doc).toContain(row('REJOIN_NONCE_BYTES', REJOIN_NONCE_BYTES));
    expect(flat).toContain(`\`MAX_REJOIN_BODY_BYTES\` = ${MAX_REJOIN_BODY_BYTES} bytes`);
    expect(doc).toContain(
      `\`PING_BURST\` = ${PING_BURST} pings, refilled by one every \`PING_REFILL_MS\` = ${PING_REFILL_MS} ms`,
    );
  });

  it('states the chooser settings, the labels, the abilities and the endpoint the code uses', () => {
    expect(doc).toContain(`| \`probeMs\` | ${DEFAULT_CHOOSER.probeMs} ms |`);
    expect(doc).toContain(`| \`rateWindowMs\` | ${DEFAULT_CHOOSER.rateWindowMs / 1000} s |`);
    expect(doc).toContain(`| \`ratio\` | ${DEFAULT_CHOOSER.ratio} |`);
    expect(doc).toContain(`| \`probeBelow\` | ${(DEFAULT_CHOOSER.probeBelow * 1000) / MiB} MiB/s |`);
    for (const label of Object.values(KEY_LABELS)) expect(doc, label).toContain(`| \`${label}\` |`);
    expect(doc).toContain(`"${BINDING_LABEL}"`);
    expect(doc).toContain(`"${TCP_BINDING_LABEL}"`);
    expect(doc).toContain(`\`["${ABILITY_RELAY}","${ABILITY_WEBRTC}","${ABILITY_TCP}"]\` with \`--transport auto\``);
    expect(doc).toContain(`(\`RELAY_PATH\` = \`${RELAY_PATH}\`)`);
  });

  it('numbers its sections in order, and every § in it names one of them', () => {
    let major = 0;
    let minor = 0;
    for (const number of headings.map((h) => /^(\d+)(?:\.(\d+))?/.exec(h)).filter((m) => m !== null)) {
      if (number[2] === undefined) [major, minor] = [major + 1, 0];
      else minor += 1;
      expect(number[0], `the section after §${major}.${minor - 1}`).toBe(
        number[2] === undefined ? `${major}` : `${major}.${minor}`,
      );
    }
    for (const m of doc.matchAll(/§(\d+(?:\.\d+)*)/g)) {
      const before = doc.slice(Math.max(0, m.index - 12), m.index);
      if (/(RFC \d+|draft) $/.test(before)) continue;
      expect(sections.has(m[1]!), `§${m[1]} (after "${before}")`).toBe(true);
    }
  });

  it('is what the repository cites: by section number or by anchor', () => {
    const anchors = new Set(headings.map(slug));
    for (const file of citingFiles()) {
      const text = readFileSync(new URL(file, ROOT), 'utf8');
      expect(text, `${file} names a section by number`).not.toMatch(/PROTOCOL\.md §(?!\d)/);
      for (const m of text.matchAll(/PROTOCOL\.md §(\d+(?:\.\d+)*)/g)) {
        expect(sections.has(m[1]!), `${file}: §${m[1]}`).toBe(true);
      }
      for (const m of text.matchAll(/PROTOCOL\.md#([\w-]+)/g))
        expect(anchors.has(m[1]!), `${file}: #${m[1]}`).toBe(true);
    }
  });

  it('has no unmerged placeholders and none of the removed mechanisms', () => {
    expect(doc).not.toMatch(/\b[A-Z]+_SECTION\b|ERRORS_TABLE/);
    expect(doc).not.toMatch(/switch-v1|PORTUNUS_TEST_|older peer|extends §|"type":"path"/);
  });
});

/** The files that may cite PROTOCOL.md: sources, tests, benchmarks and READMEs, relative to the repository root. */
function citingFiles(): string[] {
  const dirs = ['packages/protocol/src', 'packages/protocol/test', 'relay/src', 'relay/test', 'cli/src', 'cli/test'];
  const files = ['README.md', 'relay/README.md', 'cli/patches/README.md'];
  for (const dir of [...dirs, 'test', 'bench']) {
    for (const entry of readdirSync(new URL(dir, ROOT), { recursive: true, encoding: 'utf8' })) {
      if (/\.(ts|json)$/.test(entry)) files.push(`${dir}/${entry}`);
    }
  }
  return files;
}
