/**
 * The relay's structured log. Callers pass an event name and flat fields; by policy the fields are only message
 * types, sizes, codes, counts and client addresses — never bodies, payloads, nameplates or anything a client chose.
 */

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export type LogFormat = 'text' | 'json';
type Level = keyof Logger;

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface LoggerOptions {
  format: LogFormat;
  /** Only warnings and errors. */
  quiet?: boolean;
  verbose?: boolean;
  write: (line: string) => void;
  clock?: () => number;
}

export function createLogger(options: LoggerOptions): Logger {
  const threshold = options.quiet ? RANK.warn : options.verbose ? RANK.debug : RANK.info;
  const clock = options.clock ?? Date.now;
  const log =
    (level: Level) =>
    (event: string, fields: LogFields = {}) => {
      if (RANK[level] < threshold) return;
      const time = new Date(clock()).toISOString();
      options.write(
        options.format === 'json' ? jsonLine(time, level, event, fields) : textLine(time, level, event, fields),
      );
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function jsonLine(time: string, level: Level, event: string, fields: LogFields): string {
  return `${JSON.stringify({ time, level, event, ...fields })}\n`;
}

function textLine(time: string, level: Level, event: string, fields: LogFields): string {
  const parts = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(
      ([key, value]) =>
        `${key}=${typeof value === 'string' && /[\s"=]/.test(value) ? JSON.stringify(value) : String(value)}`,
    );
  return `${time} ${level} ${event}${parts.length > 0 ? ` ${parts.join(' ')}` : ''}\n`;
}
