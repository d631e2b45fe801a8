/**
 * What LAN mode needs from the command line and the environment: the address the embedded relay listens on
 * (`--bind`), how long a receiver looks for senders (`--discover-timeout`), the discovery port and group, and the
 * machine's interface table (passed in, so tests can substitute one).
 */
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createError } from '@portunus/protocol/errors';
import { LAN_GROUP, LAN_PORT, type InterfaceTable } from './targets.js';

export interface LanSettings {
  /**
   * IPv4 address of this machine to use; '0.0.0.0' means every interface. The sender's embedded relay listens on
   * it and announces only on its interface; the receiver listens and asks only on that interface.
   */
  bind: string;
  /** How long a receiver listens for announcements of its nameplate. */
  discoverTimeoutMs: number;
  /** UDP discovery port (both sides must agree: PORTUNUS_LAN_PORT overrides it). */
  port: number;
  group: string;
  interfaces: () => InterfaceTable;
}

export const DEFAULT_DISCOVER_TIMEOUT_S = 5;
/** Upper bound of --discover-timeout: discovery is for people waiting at a prompt, not for scheduling. */
export const MAX_DISCOVER_TIMEOUT_S = 600;

export function defaultLanSettings(): LanSettings {
  return {
    bind: '0.0.0.0',
    discoverTimeoutMs: DEFAULT_DISCOVER_TIMEOUT_S * 1000,
    port: LAN_PORT,
    group: LAN_GROUP,
    interfaces: networkInterfaces,
  };
}

export interface LanFlags {
  bind?: string;
  discoverTimeout?: string;
}

/** Validates the LAN flags and PORTUNUS_LAN_PORT; throws USAGE naming the offending one. */
export function lanSettingsFrom(flags: LanFlags, env: NodeJS.ProcessEnv): LanSettings {
  const settings = defaultLanSettings();
  if (flags.bind !== undefined) {
    if (!isIPv4(flags.bind)) {
      throw createError('USAGE', `--bind '${flags.bind.slice(0, 64)}' is not an IPv4 address`, {
        hint: 'Give an address of this machine, like --bind 192.168.1.20 (or 0.0.0.0 for every interface).',
      });
    }
    settings.bind = flags.bind;
  }
  if (flags.discoverTimeout !== undefined) {
    const s = Number(flags.discoverTimeout);
    if (flags.discoverTimeout.trim() === '' || !Number.isFinite(s) || s < 0.1 || s > MAX_DISCOVER_TIMEOUT_S) {
      throw createError(
        'USAGE',
        `--discover-timeout must be a number of seconds from 0.1 to ${MAX_DISCOVER_TIMEOUT_S}`,
      );
    }
    settings.discoverTimeoutMs = Math.round(s * 1000);
  }
  const port = env.PORTUNUS_LAN_PORT;
  if (port !== undefined && port !== '') {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      throw createError('USAGE', 'PORTUNUS_LAN_PORT must be a UDP port number from 1 to 65535');
    }
    settings.port = Number(port);
  }
  return settings;
}
