/**
 * Relay configuration: one table (RELAY_OPTIONS) names every option once, with its flag, its environment variable,
 * its unit and its bounds. The command builds its flags from it and `relayConfigFromEnv` reads the environment from
 * it, so flag > env > default holds for every option and the README table can be checked against it.
 */
import { createError } from '@portunus/protocol';
import { MAX_FRAME_BYTES } from '@portunus/protocol';
import { parseIceServer, type IceServer } from '@portunus/protocol';
import { invalidProxyEntry, type TrustProxySetting } from './address.js';

export interface RelayConfig {
  /** Interface to listen on (the CLI default; tests use 127.0.0.1). */
  host: string;
  /** TCP port; 0 picks an ephemeral port. */
  port: number;
  /** Relay name sent in `welcome`; clients bind it into the PAKE, so changing it breaks codes in flight. */
  name: string;
  /** Optional message of the day sent in `welcome` (printable text, ≤ 512 characters). */
  motd: string | undefined;
  /**
   * Whose X-Forwarded-For counts (address.ts): false nobody; true the socket peer, one hop; or a list of proxy
   * addresses and CIDR blocks, the client being the rightmost entry that is not one of them.
   */
  trustProxy: TrustProxySetting;
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Nameplates in use at once; burned nameplates are remembered apart, up to the same number. */
  maxNameplates: number;
  /** Largest nameplate number a client may claim. */
  maxNameplate: number;
  /** How long an unpaired room waits for its second side; also how long a burned nameplate stays burned. */
  nameplateTtlMs: number;
  /** Limit for a connection that has not sent hello, or has not allocated/claimed, yet. */
  idleTimeoutMs: number;
  pingIntervalMs: number;
  /** Failed claims (third claimer, burned nameplate, burn after a failed key confirmation) per IP per minute. */
  failedClaimsPerMinute: number;
  /** Largest text (control) frame. Sealed peer messages reach ~700 KiB of base64url, hence the 1 MiB default. */
  maxMessageBytes: number;
  /** Largest binary (data) frame. */
  maxFrameBytes: number;
  /** Bytes queued towards a receiver above which the relay stops reading from its sender. */
  highWaterMark: number;
  /** Binary bytes one room may pipe through the relay (both directions together); 0 = unlimited. */
  transferByteCap: number;
  /** The whole shutdown: paired rooms get to finish, then the closing handshakes (shutdown-schedule.ts). */
  graceMs: number;
  /** Export process_* and nodejs_* metrics too. The command turns this on; embedded relays share a process. */
  processMetrics: boolean;
  /** STUN server offered to paired clients for the direct path, e.g. `stun:stun.example.org:3478`. */
  stun: string | undefined;
  /** TURN server offered to paired clients: `url,username,credential`, e.g. `turn:turn.example.org:3478,user,pass`. */
  turn: string | undefined;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const defaultRelayConfig: Readonly<RelayConfig> = Object.freeze({
  host: '0.0.0.0',
  port: 4747,
  name: 'portunus-relay',
  motd: undefined,
  trustProxy: false,
  maxConnections: 4096,
  maxConnectionsPerIp: 64,
  maxNameplates: 10_000,
  maxNameplate: 999_999,
  nameplateTtlMs: 10 * 60_000,
  idleTimeoutMs: 30_000,
  pingIntervalMs: 30_000,
  failedClaimsPerMinute: 5,
  maxMessageBytes: MiB,
  // The largest frame the protocol allows (1 MiB of plaintext plus the 29-byte header and tag).
  maxFrameBytes: MAX_FRAME_BYTES,
  highWaterMark: MiB,
  transferByteCap: 0,
  // Under docker stop's default 10 s with margin: the whole shutdown fits in it.
  graceMs: 8_000,
  processMetrics: false,
  stun: undefined,
  turn: undefined,
});

/** `proxies`: true/false, or a comma-separated list of addresses and CIDR blocks (the flag alone means true). */
type Kind = 'string' | 'int' | 'seconds' | 'bytes' | 'bool' | 'proxies';

export interface RelayOption {
  key: keyof RelayConfig;
  flag: string;
  env: string;
  kind: Kind;
  min?: number;
  max?: number;
  description: string;
}

const MAX_SECONDS = 7 * 24 * 3600;

/** Every configurable option (processMetrics is for embedding only and has no flag). */
export const RELAY_OPTIONS: readonly RelayOption[] = [
  { key: 'host', flag: 'host', env: 'PORTUNUS_RELAY_HOST', kind: 'string', description: 'interface to listen on' },
  {
    key: 'port',
    flag: 'port',
    env: 'PORTUNUS_RELAY_PORT',
    kind: 'int',
    min: 0,
    max: 65535,
    description: 'TCP port (0: any free port)',
  },
  {
    key: 'name',
    flag: 'name',
    env: 'PORTUNUS_RELAY_NAME',
    kind: 'string',
    description: 'relay name sent to clients (bound into their key exchange)',
  },
  {
    key: 'motd',
    flag: 'motd',
    env: 'PORTUNUS_RELAY_MOTD',
    kind: 'string',
    description: 'message of the day shown to clients',
  },
  {
    key: 'trustProxy',
    flag: 'trust-proxy',
    env: 'PORTUNUS_RELAY_TRUST_PROXY',
    kind: 'proxies',
    description:
      'reverse proxies whose X-Forwarded-For counts: addresses/CIDRs, comma-separated (alone: the socket peer, one hop)',
  },
  {
    key: 'maxConnections',
    flag: 'max-connections',
    env: 'PORTUNUS_RELAY_MAX_CONNECTIONS',
    kind: 'int',
    min: 1,
    max: 1_000_000,
    description: 'concurrent WebSocket connections',
  },
  {
    key: 'maxConnectionsPerIp',
    flag: 'max-connections-per-ip',
    env: 'PORTUNUS_RELAY_MAX_CONNECTIONS_PER_IP',
    kind: 'int',
    min: 1,
    max: 1_000_000,
    description: 'concurrent connections per client address (IPv6: per /64)',
  },
  {
    key: 'maxNameplates',
    flag: 'max-nameplates',
    env: 'PORTUNUS_RELAY_MAX_NAMEPLATES',
    kind: 'int',
    min: 1,
    max: 1_000_000,
    description: 'nameplates in use (and, apart, burned nameplates remembered)',
  },
  {
    key: 'maxNameplate',
    flag: 'max-nameplate',
    env: 'PORTUNUS_RELAY_MAX_NAMEPLATE',
    kind: 'int',
    min: 1,
    max: 999_999_999,
    description: 'largest nameplate number',
  },
  {
    key: 'nameplateTtlMs',
    flag: 'nameplate-ttl',
    env: 'PORTUNUS_RELAY_NAMEPLATE_TTL',
    kind: 'seconds',
    min: 0.01,
    max: MAX_SECONDS,
    description: 'seconds an unpaired nameplate waits (and a burned one stays burned)',
  },
  {
    key: 'idleTimeoutMs',
    flag: 'idle-timeout',
    env: 'PORTUNUS_RELAY_IDLE_TIMEOUT',
    kind: 'seconds',
    min: 0.01,
    max: MAX_SECONDS,
    description: 'seconds a connection may stay without hello or claim',
  },
  {
    key: 'pingIntervalMs',
    flag: 'ping-interval',
    env: 'PORTUNUS_RELAY_PING_INTERVAL',
    kind: 'seconds',
    min: 0.01,
    max: MAX_SECONDS,
    description: 'seconds between keepalive pings',
  },
  {
    key: 'failedClaimsPerMinute',
    flag: 'failed-claims-per-minute',
    env: 'PORTUNUS_RELAY_FAILED_CLAIMS_PER_MINUTE',
    kind: 'int',
    min: 1,
    max: 1_000_000,
    description: 'failed claims per client address per minute',
  },
  {
    key: 'maxMessageBytes',
    flag: 'max-message-size',
    env: 'PORTUNUS_RELAY_MAX_MESSAGE_SIZE',
    kind: 'bytes',
    min: 1 * KiB,
    max: 64 * MiB,
    description: 'largest control (text) message',
  },
  {
    key: 'maxFrameBytes',
    flag: 'max-frame-size',
    env: 'PORTUNUS_RELAY_MAX_FRAME_SIZE',
    kind: 'bytes',
    min: 1 * KiB,
    max: 64 * MiB,
    description: 'largest data (binary) frame',
  },
  {
    key: 'highWaterMark',
    flag: 'high-water-mark',
    env: 'PORTUNUS_RELAY_HIGH_WATER_MARK',
    kind: 'bytes',
    min: 16 * KiB,
    max: 1024 * MiB,
    description: 'bytes queued per receiver before the sender is paused',
  },
  {
    key: 'transferByteCap',
    flag: 'transfer-byte-cap',
    env: 'PORTUNUS_RELAY_TRANSFER_BYTE_CAP',
    kind: 'bytes',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    description: 'bytes one transfer may pipe through the relay (0: unlimited)',
  },
  {
    key: 'stun',
    flag: 'stun',
    env: 'PORTUNUS_RELAY_STUN',
    kind: 'string',
    description: 'STUN server URL offered to clients for direct connections (stun:host:port)',
  },
  {
    key: 'turn',
    flag: 'turn',
    env: 'PORTUNUS_RELAY_TURN',
    kind: 'string',
    description: 'TURN server offered to clients: url,username,credential (turn:host:port[?transport=tcp])',
  },
  {
    key: 'graceMs',
    flag: 'grace',
    env: 'PORTUNUS_RELAY_GRACE',
    kind: 'seconds',
    min: 0,
    max: MAX_SECONDS,
    description: 'seconds the whole shutdown may take (running transfers, then closing handshakes)',
  },
];

const SIZE = /^(\d+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)$/i;
const UNIT: Record<string, number> = {
  '': 1,
  b: 1,
  k: KiB,
  kb: KiB,
  kib: KiB,
  m: MiB,
  mb: MiB,
  mib: MiB,
  g: 1024 * MiB,
  gb: 1024 * MiB,
  gib: 1024 * MiB,
};

function usage(source: string, message: string): Error {
  return createError('USAGE', `${source}: ${message}`);
}

/** Converts one textual value (flag or env) to the option's config value; throws USAGE naming `source`. */
export function parseOptionValue(option: RelayOption, text: string, source: string): RelayConfig[keyof RelayConfig] {
  const value = text.trim();
  switch (option.kind) {
    case 'string':
      if (value.length === 0 || value.length > 512) throw usage(source, 'expected a non-empty value');
      return value;
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(value)) return true;
      if (/^(0|false|no|off)$/i.test(value)) return false;
      throw usage(source, `expected true or false, got '${value.slice(0, 20)}'`);
    case 'proxies':
      return parseProxies(value, source);
    case 'int':
      return checkRange(option, /^\d+$/.test(value) ? Number(value) : NaN, source);
    case 'seconds': {
      const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
      return Math.round(checkRange(option, seconds, source) * 1000);
    }
    case 'bytes': {
      const m = SIZE.exec(value);
      return checkRange(option, m ? Number(m[1]) * UNIT[m[2]!.toLowerCase()]! : NaN, source);
    }
  }
}

function parseProxies(value: string, source: string): TrustProxySetting {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  const list = value.split(',').map((entry) => entry.trim());
  checkProxies(list, source);
  return list;
}

function checkProxies(list: readonly string[], source: string): void {
  const bad = list.length === 0 ? '' : invalidProxyEntry(list);
  if (list.length > 0 && bad === undefined) return;
  throw usage(
    source,
    `expected true, false or proxy addresses/CIDRs separated by commas, got '${(bad ?? '').slice(0, 45)}'`,
  );
}

function checkRange(option: RelayOption, n: number, source: string): number {
  const min = option.min ?? 0;
  const max = option.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw usage(source, `expected ${option.kind === 'bytes' ? 'a size' : 'a number'} from ${min} to ${max}`);
  }
  return n;
}

/** Options set in the environment (PORTUNUS_RELAY_*). Empty variables count as unset. */
export function relayConfigFromEnv(env: Record<string, string | undefined>): Partial<RelayConfig> {
  const out: Partial<Record<keyof RelayConfig, unknown>> = {};
  for (const option of RELAY_OPTIONS) {
    const text = env[option.env];
    if (text !== undefined && text !== '') out[option.key] = parseOptionValue(option, text, option.env);
  }
  return out as Partial<RelayConfig>;
}

/** Fills in defaults and checks the combination; throws USAGE on a value out of range. */
export function resolveRelayConfig(partial: Partial<RelayConfig>): RelayConfig {
  const config: RelayConfig = { ...defaultRelayConfig };
  for (const [key, value] of Object.entries(partial) as [keyof RelayConfig, unknown][]) {
    if (value !== undefined) (config as unknown as Record<string, unknown>)[key] = value;
  }
  for (const option of RELAY_OPTIONS) {
    const value = config[option.key];
    if (option.kind === 'string' || option.kind === 'bool' || value === undefined) continue;
    if (option.kind === 'proxies') {
      if (Array.isArray(value)) checkProxies(value as string[], option.key);
      continue;
    }
    const shown = option.kind === 'seconds' ? Number(value) / 1000 : Number(value);
    checkRange(option, typeof value === 'number' ? shown : NaN, option.key);
  }
  if (!/^[\x21-\x7e]{1,64}$/.test(config.name))
    throw usage('name', 'use 1 to 64 printable ASCII characters, no spaces');
  if (config.motd !== undefined && (config.motd.length > 512 || /[\u0000-\u001f\u007f-\u009f]/.test(config.motd))) {
    throw usage('motd', 'use at most 512 characters and no control characters');
  }
  relayIceServers(config);
  return config;
}

/** The ICE servers `paired` offers (PROTOCOL.md §2.2, §6.4); throws USAGE when --stun or --turn is malformed. */
export function relayIceServers(config: Pick<RelayConfig, 'stun' | 'turn'>): IceServer[] {
  const out: IceServer[] = [];
  if (config.stun !== undefined) {
    const stun = parseIceServer({ urls: config.stun });
    if (stun === undefined || !stun.urls.startsWith('stun')) throw usage('stun', 'expected a URL like stun:host:3478');
    out.push(stun);
  }
  if (config.turn !== undefined) {
    const [urls, username, credential, ...rest] = config.turn.split(',');
    const turn = rest.length === 0 ? parseIceServer({ urls, username, credential }) : undefined;
    if (turn === undefined || !turn.urls.startsWith('turn'))
      throw usage('turn', 'expected url,username,credential with a turn: or turns: URL');
    out.push(turn);
  }
  return out;
}
