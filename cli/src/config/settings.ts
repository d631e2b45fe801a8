/**
 * The settings the config file may hold, each with its validation: `relay` (default relay URL), `ca` (PEM file of
 * extra CAs for a relay behind TLS) and `iceServers` (STUN/TURN server URIs for direct connections). One table, used by `portunus config` to parse what the user
 * types and by the loader to check what the file says.
 */
import { isAbsolute } from 'node:path';
import { parseIceServerArg } from '../transport/webrtc-ice.js';
import { createError, type PortunusError } from '@portunus/protocol/errors';
import { readCaFile } from '../relay-client/ca-file.js';

export interface PortunusConfig {
  relay?: string;
  /** Absolute path of a PEM file. */
  ca?: string;
  iceServers?: string[];
}

export type SettingKey = keyof PortunusConfig;

interface Setting<K extends SettingKey> {
  key: K;
  description: string;
  /** Arguments of `config set <key> …` → value (throws USAGE). */
  fromArgs(args: readonly string[]): NonNullable<PortunusConfig[K]>;
  /** A value read from the file → the value, or why it is unusable. */
  check(value: unknown): Checked<NonNullable<PortunusConfig[K]>>;
}

type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };
const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = (problem: string): { ok: false; problem: string } => ({ ok: false, problem });

export const MAX_URL_LENGTH = 2048;
export const MAX_CONFIGURED_ICE_SERVERS = 16;

const relay: Setting<'relay'> = {
  key: 'relay',
  description:
    'default relay, a ws:// or wss:// (or http://, https://) URL (flag --relay and env PORTUNUS_RELAY take precedence)',
  fromArgs(args) {
    if (args.length !== 1)
      throw createError('USAGE', 'give exactly one relay URL', {
        hint: 'Example: portunus config set relay wss://relay.example.org',
      });
    const problem = relayUrlProblem(args[0]!);
    if (problem !== undefined)
      throw createError('USAGE', problem, { hint: 'Example: portunus config set relay wss://relay.example.org' });
    return args[0]!;
  },
  check(value) {
    if (typeof value !== 'string') return bad('"relay" must be a string');
    const problem = relayUrlProblem(value);
    return problem === undefined ? ok(value) : bad(problem);
  },
};

/** Longest path accepted for `ca` (PATH_MAX on Linux). */
export const MAX_PATH_LENGTH = 4096;

const ca: Setting<'ca'> = {
  key: 'ca',
  description:
    "PEM file of CA certificates a wss:// relay's certificate may chain to, besides the usual ones (--ca and PORTUNUS_CA take precedence)",
  fromArgs(args) {
    const hint = 'Example: portunus config set ca /etc/ssl/my-relay-ca.pem';
    if (args.length !== 1) throw createError('USAGE', 'give exactly one file', { hint });
    const problem = caPathProblem(args[0]!);
    if (problem !== undefined) throw createError('USAGE', problem, { hint });
    readCaFile(args[0]!, 'ca'); // a file that would stop every transfer later is refused now
    return args[0]!;
  },
  check(value) {
    if (typeof value !== 'string') return bad('"ca" must be a string');
    const problem = caPathProblem(value);
    return problem === undefined ? ok(value) : bad(problem);
  },
};

/** The config file outlives the folder it was written from, so it holds only absolute paths. */
function caPathProblem(path: string): string | undefined {
  if (path.length > MAX_PATH_LENGTH || !isAbsolute(path)) return `'${path.slice(0, 200)}' is not an absolute path`;
  return undefined;
}

const iceServers: Setting<'iceServers'> = {
  key: 'iceServers',
  description: `STUN/TURN servers for direct connections (stun:, stuns:, turn: or turns: URIs, at most ${MAX_CONFIGURED_ICE_SERVERS})`,
  fromArgs(args) {
    const hint = 'Example: portunus config set iceServers stun:stun.example.org:3478';
    if (args.length === 0 || args.length > MAX_CONFIGURED_ICE_SERVERS)
      throw createError('USAGE', `give 1 to ${MAX_CONFIGURED_ICE_SERVERS} server URIs`, { hint });
    for (const uri of args) {
      const problem = iceServerProblem(uri);
      if (problem !== undefined) throw createError('USAGE', problem, { hint });
    }
    return [...args];
  },
  check(value) {
    if (!Array.isArray(value) || value.length > MAX_CONFIGURED_ICE_SERVERS)
      return bad(`"iceServers" must be a list of at most ${MAX_CONFIGURED_ICE_SERVERS} strings`);
    for (const uri of value) {
      if (typeof uri !== 'string') return bad('"iceServers" must be a list of strings');
      const problem = iceServerProblem(uri);
      if (problem !== undefined) return bad(problem);
    }
    return ok(value as string[]);
  },
};

export const SETTINGS: { readonly [K in SettingKey]: Setting<K> } = { relay, ca, iceServers };

export function isSettingKey(key: string): key is SettingKey {
  return Object.prototype.hasOwnProperty.call(SETTINGS, key);
}

/** Why `url` is not a usable relay URL, or undefined when it is. */
export function relayUrlProblem(url: string): string | undefined {
  const shown = url.slice(0, 200);
  if (url.length > MAX_URL_LENGTH || !/^(wss?|https?):\/\/[^\s\u0000-\u001f\u007f-\u009f]+$/i.test(url))
    return `relay address '${shown}' is not a ws:// or wss:// URL (nor http:// or https://)`;
  try {
    if (new URL(url).hostname === '') return `relay address '${shown}' has no host`;
  } catch {
    return `relay address '${shown}' is not a valid URL`;
  }
  return undefined;
}

/**
 * Why `uri` is not a usable STUN/TURN server, or undefined when it is: the same parser send and receive use, so an
 * entry `config set` accepts (a TURN URL needs user:pass@) never stops a transfer later.
 */
export function iceServerProblem(uri: string): string | undefined {
  if (uri.length > 512) return `'${uri.slice(0, 200)}…' is too long for a STUN or TURN URL`;
  try {
    parseIceServerArg(uri, 'iceServers');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Checks every known setting of a parsed file; unknown keys are kept but not interpreted (a newer version's). */
export function checkConfig(raw: Record<string, unknown>, path: string): PortunusConfig | PortunusError {
  const config: PortunusConfig = {};
  if (raw.relay !== undefined) {
    const checked = SETTINGS.relay.check(raw.relay);
    if (!checked.ok) return badConfig(path, checked.problem);
    config.relay = checked.value;
  }
  if (raw.ca !== undefined) {
    const checked = SETTINGS.ca.check(raw.ca);
    if (!checked.ok) return badConfig(path, checked.problem);
    config.ca = checked.value;
  }
  if (raw.iceServers !== undefined) {
    const checked = SETTINGS.iceServers.check(raw.iceServers);
    if (!checked.ok) return badConfig(path, checked.problem);
    config.iceServers = checked.value;
  }
  return config;
}

export function badConfig(path: string, problem: string): PortunusError {
  return createError('BAD_CONFIG', `config file ${path}: ${problem}`, {
    hint: `Fix ${path} by hand, or delete it (it only holds what \`portunus config set\` wrote).`,
  });
}
