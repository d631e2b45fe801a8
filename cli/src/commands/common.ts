/** Options every transfer command shares, and turning them into a TransferContext. */
import { Option, type Command } from 'commander';
import { createError, secureRandomBytes } from '../protocol.js';
import type { TransferContext } from '../transfer/context.js';
import { Reporter } from '../ui/reporter.js';
import { AGENT } from '../version.js';

export interface CommonOptions {
  relay?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  timeout: string;
  transport: 'auto' | 'relay';
  chunkSize: string;
}

export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('--relay <url>', 'relay to meet through (env PORTUNUS_RELAY)')
    .option('--json', 'print NDJSON events for scripts instead of text')
    .option('-q, --quiet', 'print nothing but errors')
    .option('-v, --verbose', 'print debugging details and stacks')
    .option('--timeout <seconds>', 'how long to wait for the other side', '600')
    .addOption(new Option('--transport <kind>', 'data path').choices(['auto', 'relay']).default('auto'))
    .addOption(new Option('--chunk-size <bytes>', 'plaintext bytes per frame').default('1048576').hideHelp());
}

export interface Io {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function makeReporter(opts: CommonOptions, io: Io, dataOnStdout: boolean): Reporter {
  return new Reporter({
    mode: opts.json ? 'json' : opts.quiet ? 'quiet' : 'human',
    jsonStream: dataOnStdout ? io.stderr : io.stdout,
    stderr: io.stderr,
    verbose: opts.verbose === true,
    color: io.stderr.isTTY === true && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb',
  });
}

/** Relay precedence: --relay, then PORTUNUS_RELAY. */
export function resolveRelay(opts: CommonOptions, env: NodeJS.ProcessEnv): string {
  const url = opts.relay ?? env.PORTUNUS_RELAY;
  if (url === undefined || url === '') throw createError('NO_RELAY', 'no relay configured');
  if (!/^wss?:\/\/[^\s]+$/i.test(url)) {
    throw createError('USAGE', `relay address '${url}' is not a ws:// or wss:// URL`, { hint: 'Example: --relay ws://relay.example.org:4747' });
  }
  return url;
}

function positiveInt(text: string, what: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0 || n > max) throw createError('USAGE', `${what} must be a whole number from 1 to ${max}`);
  return n;
}

export function makeContext(opts: CommonOptions, io: Io, reporter: Reporter, signal: AbortSignal): TransferContext {
  return {
    relayUrl: resolveRelay(opts, io.env),
    agent: AGENT,
    reporter,
    prompt: { input: io.stdin, output: io.stderr },
    random: secureRandomBytes,
    now: () => performance.now(),
    signal,
    timeoutMs: positiveInt(opts.timeout, '--timeout', 7 * 24 * 3600) * 1000,
    chunkSize: positiveInt(opts.chunkSize, '--chunk-size', 1024 * 1024),
  };
}
