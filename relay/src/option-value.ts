/**
 * How the text of a relay option (a flag or an environment variable) becomes its config value, by the option's kind:
 * sizes take a unit (`64k`, `1MiB`), durations are seconds (stored as milliseconds), proxies a list of addresses and
 * CIDR blocks or true/false. Every value is checked against the option's bounds; a bad one is a USAGE error naming
 * its source.
 */
import { createError } from '@portunus/protocol/errors';
import { invalidProxyEntry, type TrustProxySetting } from './address.js';
import type { RelayConfig } from './config.js';
import type { RelayOption } from './relay-options.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

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

/** The USAGE error for a bad value, naming where it came from (a flag, a variable or a config key). */
export function usageError(source: string, message: string): Error {
  return createError('USAGE', `${source}: ${message}`);
}

/** Converts one textual value (flag or env) to the option's config value; throws USAGE naming `source`. */
export function parseOptionValue(option: RelayOption, text: string, source: string): RelayConfig[keyof RelayConfig] {
  const value = text.trim();
  switch (option.kind) {
    case 'string':
      if (value.length === 0 || value.length > 512) throw usageError(source, 'expected a non-empty value');
      return value;
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(value)) return true;
      if (/^(0|false|no|off)$/i.test(value)) return false;
      throw usageError(source, `expected true or false, got '${value.slice(0, 20)}'`);
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

/** Throws USAGE unless `list` is a non-empty list of proxy addresses and CIDR blocks. */
export function checkProxies(list: readonly string[], source: string): void {
  const bad = list.length === 0 ? '' : invalidProxyEntry(list);
  if (list.length > 0 && bad === undefined) return;
  throw usageError(
    source,
    `expected true, false or proxy addresses/CIDRs separated by commas, got '${(bad ?? '').slice(0, 45)}'`,
  );
}

/** Throws USAGE unless `n` is within the option's bounds; returns it. */
export function checkRange(option: RelayOption, n: number, source: string): number {
  const min = option.min ?? 0;
  const max = option.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw usageError(source, `expected ${option.kind === 'bytes' ? 'a size' : 'a number'} from ${min} to ${max}`);
  }
  return n;
}
