/**
 * The relay's options, each named once: its config key, its flag, its environment variable, its kind (which says how
 * its text is read, option-value.ts) and its bounds. The command builds its flags from this table and
 * `relayConfigFromEnv` reads the environment from it, so flag > env > default holds for every option and the README
 * table can be checked against it.
 */
import type { RelayConfig } from './config.js';
import { GiB, KiB, MiB } from './option-value.js';

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
    key: 'pageDir',
    flag: 'page-dir',
    env: 'PORTUNUS_RELAY_PAGE_DIR',
    kind: 'string',
    description: 'directory of the built web page served at / (default: the page bundled with the relay)',
  },
  {
    key: 'noPage',
    flag: 'no-page',
    env: 'PORTUNUS_RELAY_NO_PAGE',
    kind: 'bool',
    description: 'serve no web page, only the relay',
  },
  {
    key: 'storage',
    flag: 'storage',
    env: 'PORTUNUS_RELAY_STORAGE',
    kind: 'string',
    description: 'store drops (send now, receive later) in this directory or in s3://bucket/prefix (default: no drops)',
  },
  {
    key: 'redis',
    flag: 'redis',
    env: 'PORTUNUS_RELAY_REDIS',
    kind: 'string',
    description: 'share rendezvous state and drop records with other relay instances through this Redis (redis://…)',
  },
  {
    key: 'advertise',
    flag: 'advertise',
    env: 'PORTUNUS_RELAY_ADVERTISE',
    kind: 'string',
    description:
      'with --redis: the ws:// URL at which the other instances reach this one (default: from --host/--port)',
  },
  {
    key: 'dropMaxBytes',
    flag: 'drop-max-bytes',
    env: 'PORTUNUS_RELAY_DROP_MAX_BYTES',
    kind: 'bytes',
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    description: 'largest drop',
  },
  {
    key: 'dropTotalBytes',
    flag: 'drop-total-bytes',
    env: 'PORTUNUS_RELAY_DROP_TOTAL_BYTES',
    kind: 'bytes',
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    description: 'bytes all drops together may take',
  },
  {
    key: 'dropMaxExpiryMs',
    flag: 'drop-max-expiry',
    env: 'PORTUNUS_RELAY_DROP_MAX_EXPIRY',
    kind: 'seconds',
    min: 1,
    max: 7 * 24 * 3600,
    description: 'longest time a drop may be kept, in seconds',
  },
  {
    key: 'dropPerAddress',
    flag: 'drop-per-address',
    env: 'PORTUNUS_RELAY_DROP_PER_ADDRESS',
    kind: 'int',
    min: 1,
    max: 1_000_000,
    description: 'drops stored at once per client address (IPv6: per /64)',
  },
  {
    key: 'dropBytesPerAddress',
    flag: 'drop-bytes-per-address',
    env: 'PORTUNUS_RELAY_DROP_BYTES_PER_ADDRESS',
    kind: 'bytes',
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    description: 'bytes of drops stored at once per client address',
  },
  {
    key: 'dropSweepIntervalMs',
    flag: 'drop-sweep-interval',
    env: 'PORTUNUS_RELAY_DROP_SWEEP_INTERVAL',
    kind: 'seconds',
    min: 0.01,
    max: 3600,
    description: 'seconds between sweeps for expired drops, abandoned uploads and leases',
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
