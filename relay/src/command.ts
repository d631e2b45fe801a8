/**
 * `portunus relay`: runs a relay until SIGTERM/SIGINT. Flags come from RELAY_OPTIONS (flag > env > default).
 * stdout carries only the "listening" announcement, naming the URLs clients can use (a JSON event with --json);
 * logs go to stderr.
 */
import { Command, Option } from 'commander';
import { createError } from '@portunus/protocol/errors';
import { defaultRelayConfig, relayConfigFromEnv, type RelayConfig } from './config.js';
import { parseOptionValue } from './option-value.js';
import { RELAY_OPTIONS } from './relay-options.js';
import { createLogger, type LogFormat } from './logger.js';
import type { RelayHandle } from './server.js';

export interface RelayCommandDeps {
  env?: Record<string, string | undefined>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Where SIGTERM/SIGINT come from (process by default). */
  signals?: Pick<NodeJS.Process, 'once' | 'off'>;
}

interface CommandFlags {
  json?: boolean;
  logFormat?: string;
  quiet?: boolean;
  verbose?: boolean;
  [flag: string]: unknown;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function describeDefault(key: keyof RelayConfig): string {
  const value = defaultRelayConfig[key];
  if (value === undefined || typeof value === 'boolean') return '';
  const option = RELAY_OPTIONS.find((o) => o.key === key);
  return ` (default ${option?.kind === 'seconds' ? Number(value) / 1000 : String(value)})`;
}

export function relayCommand(deps: RelayCommandDeps = {}): Command {
  const command = new Command('relay').description(
    'run a relay (rendezvous and fallback data pipe) for others to use.',
  );
  for (const option of RELAY_OPTIONS) {
    const placeholder = {
      string: option.flag,
      int: 'n',
      seconds: 'seconds',
      bytes: 'size',
      bool: '',
      proxies: 'proxies',
    }[option.kind];
    const flags =
      option.kind === 'bool'
        ? `--${option.flag}`
        : option.kind === 'proxies'
          ? `--${option.flag} [${placeholder}]`
          : `--${option.flag} <${placeholder}>`;
    command.addOption(new Option(flags, `${option.description}${describeDefault(option.key)}; env ${option.env}`));
  }
  command
    .option('--json', 'print the listening event as JSON on stdout; env PORTUNUS_RELAY_JSON')
    .addOption(
      new Option('--log-format <format>', 'log format on stderr; env PORTUNUS_RELAY_LOG_FORMAT').choices([
        'text',
        'json',
      ]),
    )
    .option('--quiet', 'log only warnings and errors; env PORTUNUS_RELAY_QUIET')
    .option('--verbose', 'log every connection (debug)')
    .action(async (flags: CommandFlags) => runRelay(flags, deps));
  return command;
}

function envFlag(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value);
}

/** Commander stores a flag `--no-x` as `x: false` when given, and as `x: true` when not (which counts as unset). */
function flagValue(flags: CommandFlags, flag: string): unknown {
  if (!flag.startsWith('no-')) return flags[camel(flag)];
  return flags[camel(flag.slice(3))] === false ? true : undefined;
}

/** Flag values (already validated by the same parser as the environment). */
function configFromFlags(flags: CommandFlags): Partial<RelayConfig> {
  const out: Partial<Record<keyof RelayConfig, unknown>> = {};
  for (const option of RELAY_OPTIONS) {
    const value = flagValue(flags, option.flag);
    if (value === undefined) continue;
    // A boolean flag, or a flag whose value is optional given alone, arrives as `true`.
    out[option.key] =
      value === true || option.kind === 'bool'
        ? value === true
        : parseOptionValue(option, String(value), `--${option.flag}`);
  }
  return out as Partial<RelayConfig>;
}

async function runRelay(flags: CommandFlags, deps: RelayCommandDeps): Promise<void> {
  const env = deps.env ?? process.env;
  const stdout = deps.stdout ?? ((text: string) => void process.stdout.write(text));
  const stderr = deps.stderr ?? ((text: string) => void process.stderr.write(text));
  const signals = deps.signals ?? process;
  const json = flags.json === true || envFlag(env.PORTUNUS_RELAY_JSON);
  const format = (flags.logFormat ?? env.PORTUNUS_RELAY_LOG_FORMAT ?? 'text') as LogFormat;
  if (format !== 'text' && format !== 'json')
    throw createError('USAGE', 'PORTUNUS_RELAY_LOG_FORMAT: expected text or json');
  const quiet = flags.quiet === true || envFlag(env.PORTUNUS_RELAY_QUIET);
  const logger = createLogger({ format, quiet, verbose: flags.verbose === true, write: stderr });
  const config = { ...relayConfigFromEnv(env), ...configFromFlags(flags), processMetrics: true };

  // Loaded only when the relay runs: every `portunus` command registers this one, and send/receive never start it.
  const { startRelay } = await import('./server.js');
  const handle = await startRelay(config, { logger, env }).catch((err: unknown) => {
    throw listenError(err, config);
  });
  const line = json
    ? JSON.stringify({ event: 'listening', url: handle.url, urls: handle.urls })
    : `Relay listening on port ${handle.port}: ${handle.urls.join(', ')}`;
  stdout(`${line}\n`);
  await untilSignal(handle, signals, logger.info);
  if (json) stdout(`${JSON.stringify({ event: 'stopped' })}\n`);
}

/** Waits for SIGTERM or SIGINT, then drains; a second signal cuts the grace period short. */
async function untilSignal(
  handle: RelayHandle,
  signals: Pick<NodeJS.Process, 'once' | 'off'>,
  info: (event: string, fields?: Record<string, string>) => void,
): Promise<void> {
  const signal = await new Promise<string>((resolve) => {
    const onTerm = (): void => done('SIGTERM');
    const onInt = (): void => done('SIGINT');
    function done(name: string): void {
      signals.off('SIGTERM', onTerm);
      signals.off('SIGINT', onInt);
      resolve(name);
    }
    signals.once('SIGTERM', onTerm);
    signals.once('SIGINT', onInt);
  });
  info('shutting down', { signal });
  const force = (): void => void handle.close(0);
  signals.once('SIGTERM', force);
  signals.once('SIGINT', force);
  await handle.close();
  signals.off('SIGTERM', force);
  signals.off('SIGINT', force);
}

function listenError(err: unknown, config: Partial<RelayConfig>): Error {
  const code = (err as { code?: unknown } | undefined)?.code;
  const where = `${config.host ?? defaultRelayConfig.host}:${config.port ?? defaultRelayConfig.port}`;
  if (code === 'EADDRINUSE')
    return createError('USAGE', `cannot listen on ${where}: address in use`, {
      hint: 'Choose another --port.',
      cause: err,
    });
  if (code === 'EACCES')
    return createError('USAGE', `cannot listen on ${where}: permission denied`, {
      hint: 'Use a port above 1023.',
      cause: err,
    });
  if (code === 'EADDRNOTAVAIL')
    return createError('USAGE', `cannot listen on ${where}: no such address`, { hint: 'Check --host.', cause: err });
  return err instanceof Error ? err : new Error(String(err));
}
