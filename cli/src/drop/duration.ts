/** `--expire` values: `90s`, `30m`, `24h`, `7d`, or a number of seconds; and the same shown back. */
import { createError } from '@portunus/protocol/errors';

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };
/** The longest expiry any relay allows (§11.3): 7 days. */
export const MAX_EXPIRE_SECONDS = 7 * 86_400;

export function parseDuration(text: string, what: string): number {
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(text);
  const seconds = m === null ? NaN : Number(m[1]) * UNITS[(m[2] || 's').toLowerCase()]!;
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_EXPIRE_SECONDS) {
    throw createError('USAGE', `${what} must be a duration from 1s to 7d, like 90s, 30m, 24h or 7d`);
  }
  return seconds;
}

export function formatDuration(seconds: number): string {
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds % size === 0)
      return `${seconds / size} ${{ d: 'day', h: 'hour', m: 'minute' }[unit]}${seconds === size ? '' : 's'}`;
  }
  return `${seconds} seconds`;
}
