/**
 * Relay configuration: the values, their defaults, and the check of a whole configuration. Each option is named once
 * in RELAY_OPTIONS (relay-options.ts), whose text option-value.ts turns into a value; flag > env > default.
 */
import { type IceServer, MAX_FRAME_BYTES, parseIceServer } from '@portunus/protocol';
import type { TrustProxySetting } from './address.js';
import { checkProxies, checkRange, GiB, MiB, parseOptionValue, usageError } from './option-value.js';
import { RELAY_OPTIONS } from './relay-options.js';

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
  /** Directory of the built page served at `/` (page-files.ts); undefined: `page/` beside the relay's bundle, if any. */
  pageDir: string | undefined;
  /** Serve no page, even when the relay has one (the welcome then says so: no `page` flag). */
  noPage: boolean;
  /** Where drops are stored (drop-storage.ts): a directory or `s3://bucket/prefix`; undefined: no drops. */
  storage: string | undefined;
  /** Largest drop (its Upload-Length). */
  dropMaxBytes: number;
  /** Bytes all stored drops may take together (complete or not). */
  dropTotalBytes: number;
  /** Longest expiry a drop may ask for. */
  dropMaxExpiryMs: number;
  /** Drops one client address (addressKey) may have stored at once. */
  dropPerAddress: number;
  /** Bytes one client address may have stored at once. */
  dropBytesPerAddress: number;
  /** How often expired drops, abandoned uploads and idle leases are swept. */
  dropSweepIntervalMs: number;
  /** `redis://` or `rediss://` URL of the Redis that relay instances share (redis.ts); undefined: one process alone. */
  redis: string | undefined;
  /** With `redis`: the `ws://` URL other instances reach this one at; undefined: made from host and port. */
  advertise: string | undefined;
}

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
  pageDir: undefined,
  noPage: false,
  storage: undefined,
  dropMaxBytes: 2 * GiB,
  dropTotalBytes: 20 * GiB,
  dropMaxExpiryMs: 7 * 24 * 3600_000,
  dropPerAddress: 20,
  dropBytesPerAddress: 4 * GiB,
  dropSweepIntervalMs: 60_000,
  redis: undefined,
  advertise: undefined,
});

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
    throw usageError('name', 'use 1 to 64 printable ASCII characters, no spaces');
  if (config.motd !== undefined && (config.motd.length > 512 || /[\u0000-\u001f\u007f-\u009f]/.test(config.motd))) {
    throw usageError('motd', 'use at most 512 characters and no control characters');
  }
  if (config.redis !== undefined && !/^rediss?:\/\/[^\s]+$/.test(config.redis))
    throw usageError('redis', 'expected a URL like redis://host:6379 or rediss://user:password@host:6380/0');
  if (config.advertise !== undefined && !/^wss?:\/\/[^\s/]+\/?$/.test(config.advertise))
    throw usageError('advertise', 'expected a URL like ws://10.0.0.5:4747 (no path)');
  if (config.redis !== undefined && config.advertise === undefined && WILDCARD_HOSTS.has(config.host))
    throw usageError('advertise', 'with --redis and a wildcard --host, say where the other instances reach this one');
  relayIceServers(config);
  return config;
}

/** Hosts that listen on every interface, which other relay instances cannot use as an address. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0', '']);

/** The ICE servers `paired` offers (PROTOCOL.md §2.2, §6.4); throws USAGE when --stun or --turn is malformed. */
export function relayIceServers(config: Pick<RelayConfig, 'stun' | 'turn'>): IceServer[] {
  const out: IceServer[] = [];
  if (config.stun !== undefined) {
    const stun = parseIceServer({ urls: config.stun });
    if (stun === undefined || !stun.urls.startsWith('stun'))
      throw usageError('stun', 'expected a URL like stun:host:3478');
    out.push(stun);
  }
  if (config.turn !== undefined) {
    const [urls, username, credential, ...rest] = config.turn.split(',');
    const turn = rest.length === 0 ? parseIceServer({ urls, username, credential }) : undefined;
    if (turn === undefined || !turn.urls.startsWith('turn'))
      throw usageError('turn', 'expected url,username,credential with a turn: or turns: URL');
    out.push(turn);
  }
  return out;
}
