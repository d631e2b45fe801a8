/** Options every transfer command shares, and turning them into a TransferContext. */
import { Option, type Command } from 'commander';
import { createError } from '@portunus/protocol/errors';
import { secureRandomBytes } from '@portunus/protocol/bytes';
import type { IceServer } from '@portunus/protocol/ice-server';
import type { PathKind } from '@portunus/protocol';
import type { TransferContext } from '../transfer/context.js';
import { Reporter } from '../ui/reporter.js';
import { AGENT } from '../version.js';
import { configuredIceServers, loadConfig } from '../config/config-file.js';
import { DEFAULT_STALL_TIMEOUT_MS } from '@portunus/client/stall';
import { parseIceServerArg } from '../transport/webrtc-ice.js';
import { relayUrlProblem, type PortunusConfig } from '../config/settings.js';
import { DEFAULT_DISCOVER_TIMEOUT_S, lanSettingsFrom } from '../lan/lan-settings.js';
import { relayCaFrom } from '../relay-client/relay-ca.js';
import { checkCanVerify } from '../ui/verify.js';

export interface CommonOptions {
  relay?: string;
  /** PEM file of extra CAs for a wss:// relay. */
  ca?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  timeout: string;
  /** --stall-timeout (commander fills in the default). */
  stallTimeout: string;
  /** --transport: auto, or a comma-separated list of relay, tcp, webrtc. */
  transport: string;
  /** --direct-timeout (commander fills in the default '5'). */
  directTimeout?: string;
  iceServer?: string[];
  chunkSize: string;
  /** LAN mode: IPv4 address (interface) to use. */
  bind?: string;
  /** LAN mode: seconds a receiver looks for the sender. */
  discoverTimeout?: string;
  /** Confirm the verification string with the user before any file data flows. */
  verify?: boolean;
}

/** Seconds each direct attempt (TCP, WebRTC) may take; the data meanwhile starts on the relay when allowed. */
const DEFAULT_DIRECT_TIMEOUT_S = '5';

export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('--relay <url>', 'relay to meet through (env PORTUNUS_RELAY)')
    .option(
      '--ca <file>',
      "PEM file of the CA that signed a wss:// relay's certificate, trusted besides the usual ones (env PORTUNUS_CA)",
    )
    .option('--json', 'print NDJSON events for scripts instead of text')
    .option(
      '--verify',
      'show the verification string and ask whether the other side shows the same before any data flows (needs a terminal)',
    )
    .option('-q, --quiet', 'print nothing but errors')
    .option('-v, --verbose', 'print debugging details and stacks')
    .option('--timeout <seconds>', 'how long to wait for the other side', '600')
    .option(
      '--stall-timeout <seconds>',
      'give up when the transfer makes no progress for this long, or a lost relay connection is not back within it',
      String(DEFAULT_STALL_TIMEOUT_MS / 1000),
    )
    .option(
      '--bind <address>',
      "LAN mode: IPv4 address (interface) to use; the sender's built-in relay listens on it (default: all)",
    )
    .option(
      '--discover-timeout <seconds>',
      'LAN mode, receiving: how long to look for the sender',
      String(DEFAULT_DISCOVER_TIMEOUT_S),
    )
    .option(
      '--transport <paths>',
      'data paths: auto (relay, direct TCP and WebRTC, moving to the fastest), or a list of relay, tcp, webrtc (e.g. tcp: direct TCP only; relay: never direct)',
      'auto',
    )
    .option('--direct-timeout <seconds>', 'how long each direct connection attempt may take', DEFAULT_DIRECT_TIMEOUT_S)
    .option(
      '--ice-server <url>',
      'STUN/TURN server for direct connections, repeatable (turn:user:pass@host:3478?transport=tcp)',
      collect,
    )
    .addOption(new Option('--chunk-size <bytes>', 'plaintext bytes per frame').default('1048576').hideHelp());
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const ALL_PATHS: readonly PathKind[] = ['relay', 'tcp', 'webrtc'];

/** --transport: `auto` (every path) or a comma-separated list of paths, each once. */
export function parsePaths(text: string): PathKind[] {
  if (text.trim() === 'auto') return [...ALL_PATHS];
  const paths = text.split(',').map((p) => p.trim());
  const known = (p: string): p is PathKind => (ALL_PATHS as readonly string[]).includes(p);
  if (paths.length === 0 || !paths.every(known) || new Set(paths).size !== paths.length) {
    throw createError(
      'USAGE',
      `--transport must be auto or a list of relay, tcp and webrtc (got '${text.slice(0, 40)}')`,
      {
        hint: 'Examples: --transport auto, --transport tcp, --transport relay,webrtc',
      },
    );
  }
  return paths;
}

/** --ice-server values, else the config file's `iceServers` (each parsed the same way); none without WebRTC. */
function iceServersFrom(opts: CommonOptions, paths: readonly PathKind[], env: NodeJS.ProcessEnv): IceServer[] {
  if (opts.iceServer !== undefined) return opts.iceServer.map((url) => parseIceServerArg(url));
  if (!paths.includes('webrtc')) return [];
  try {
    return configuredIceServers(env).map((url) => parseIceServerArg(url, 'iceServers'));
  } catch (err) {
    throw createError('BAD_CONFIG', `config file: ${(err as Error).message}`, {
      hint: 'Fix it with `portunus config set iceServers …` (a TURN server as turn:user:password@host:port).',
    });
  }
}

function seconds(text: string, what: string, max: number): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || n <= 0 || n > max)
    throw createError('USAGE', `${what} must be a number of seconds above 0, at most ${max}`);
  return Math.ceil(n * 1000);
}

export interface Io {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function makeReporter(
  opts: Pick<CommonOptions, 'json' | 'quiet' | 'verbose'>,
  io: Io,
  dataOnStdout: boolean,
): Reporter {
  return new Reporter({
    mode: opts.json ? 'json' : opts.quiet ? 'quiet' : 'human',
    jsonStream: dataOnStdout ? io.stderr : io.stdout,
    stderr: io.stderr,
    verbose: opts.verbose === true,
    color: io.stderr.isTTY === true && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb',
  });
}

/**
 * Relay precedence: --relay, then PORTUNUS_RELAY, then the config file's `relay`; undefined means LAN mode.
 * Empty values count as unset. The config file is read only when neither flag nor environment decides.
 */
export function resolveRelay(
  opts: CommonOptions,
  env: NodeJS.ProcessEnv,
  readConfig: (env: NodeJS.ProcessEnv) => PortunusConfig = loadConfig,
): string | undefined {
  const given = [opts.relay, env.PORTUNUS_RELAY].find((v) => v !== undefined && v !== '');
  const url = given ?? readConfig(env).relay; // the loader has already checked the file's value
  if (url === undefined) return undefined;
  const problem = relayUrlProblem(url);
  if (problem !== undefined)
    throw createError('USAGE', problem, { hint: 'Example: --relay ws://relay.example.org:4747' });
  return url;
}

/** `text` as a whole number from `min` to `max`, else a USAGE error naming the option. */
export function wholeNumber(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max)
    throw createError('USAGE', `${what} must be a whole number from ${min} to ${max}`);
  return n;
}

export function makeContext(opts: CommonOptions, io: Io, reporter: Reporter, signal: AbortSignal): TransferContext {
  const paths = parsePaths(opts.transport);
  const prompt = { input: io.stdin, output: io.stderr };
  if (opts.verify === true) checkCanVerify(prompt);
  return {
    relayUrl: resolveRelay(opts, io.env),
    relayCa: relayCaFrom(opts.ca, io.env, io.cwd),
    lan: lanSettingsFrom(opts, io.env),
    agent: AGENT,
    reporter,
    prompt,
    random: secureRandomBytes,
    now: () => performance.now(),
    signal,
    timeoutMs: wholeNumber(opts.timeout, '--timeout', 1, 7 * 24 * 3600) * 1000,
    stallMs: seconds(opts.stallTimeout, '--stall-timeout', 24 * 3600),
    chunkSize: wholeNumber(opts.chunkSize, '--chunk-size', 1, 1024 * 1024),
    paths,
    directTimeoutMs: seconds(opts.directTimeout ?? DEFAULT_DIRECT_TIMEOUT_S, '--direct-timeout', 3600),
    iceServers: iceServersFrom(opts, paths, io.env),
    verify: opts.verify === true,
  };
}
