/** `portunus send`: option parsing only; the work is in transfer/send.ts. */
import { basename, resolve } from 'node:path';
import { Command } from 'commander';
import { createError, PortunusError } from '@portunus/protocol/errors';
import {
  DEFAULT_SECRET_LENGTH,
  MAX_SECRET_LENGTH,
  MIN_SECRET_LENGTH,
  parseCode,
  secretLengthFor,
  type Code,
} from '@portunus/protocol/code';
import { MAX_SEATS } from '@portunus/protocol/relay-messages';
import { MAX_DROP_DOWNLOADS } from '@portunus/protocol/drop-api';
import { quoteForTerminal } from '../files/sanitize.js';
import type { SourceSpec } from '../files/source.js';
import { addCommonOptions, makeContext, wholeNumber, type CommonOptions, type Io } from './common.js';
import { runAction } from './run.js';
import { dropStateDir } from '../drop/state-dir.js';
import { parseDuration } from '../drop/duration.js';
import { readTextInput, TEXT_FROM_STDIN } from './text-input.js';
import type { Reporter } from '../ui/reporter.js';

interface SendFlags extends CommonOptions {
  text?: string;
  name?: string;
  code?: string;
  codeLength?: string;
  count: string;
  qr: boolean;
  drop?: boolean;
  expire?: string;
  downloads?: string;
}

export function sendCommand(io: Io): Command {
  const cmd = new Command('send')
    .description('send files and folders, standard input or a text message')
    .argument(
      '[paths...]',
      "files or folders to send (several: one offer, they land side by side), or '-' for standard input",
    )
    .option(
      '--text <message>',
      "send a short text message (at most 64 KiB) instead of a file; '-' reads it from standard input",
    )
    .option('--name <name>', "name to offer when sending standard input ('-')")
    .option('--code <code>', 'use a pre-agreed code (prefer env PORTUNUS_CODE: arguments are visible to other users)')
    .option(
      '--code-length <symbols>',
      `symbols in the secret part of the code, ${MIN_SECRET_LENGTH} to ${MAX_SECRET_LENGTH} (default ${DEFAULT_SECRET_LENGTH} = 30 bits; ${secretLengthFor(2)} with --count)`,
    )
    .option(
      '--count <n>',
      `serve up to n receivers (1 to ${MAX_SEATS}) with one code, at once; each runs its own key exchange, so the code ` +
        `admits n guesses (success at most n · 2^-bits; the default code is one symbol longer to keep that ≤ 2^-30). ` +
        'Exits 0 once all n received the file; else with the first failure',
      '1',
    )
    .option('--no-qr', 'do not print a QR code')
    .option(
      '--drop',
      'store it on the relay (one started with --storage) and exit: receivers fetch it later with the D-… code it prints',
    )
    .option('--expire <duration>', 'with --drop: how long the relay keeps it, like 90s, 30m, 24h or 7d (default 24h)')
    .option('--downloads <n>', 'with --drop: how many receives it serves before the relay deletes it (default 1)');
  addCommonOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ portunus send report.zip
  $ portunus send photos/
  $ portunus send notes.txt *.jpg photos/      # several in one send
  $ tar c build | portunus send - --name build.tar
  $ portunus send --text "the wifi password is hunter2"
  $ git log -1 | portunus send --text -       # the text from standard input
  $ PORTUNUS_CODE=7-H7K-29A portunus send --json --relay ws://relay:4747 artifact.tgz
  $ portunus send --count 3 --relay ws://relay:4747 artifact.tgz   # three receivers, one code
  $ portunus send --drop --relay ws://relay:4747 --expire 7d --downloads 3 build.tgz

A drop (--drop) is stored on the relay, encrypted, and received later with its code (D- and 28 characters: a long
secret, since a stored drop cannot rely on the one-guess key exchange of a live transfer). The command exits once
the relay holds every byte; an interrupted upload continues when the same command runs again. Standard input cannot
be dropped (its size is unknown in advance).`,
  );
  return cmd.action((paths: string[], flags: SendFlags) =>
    runAction(io, flags, { role: 'send', dataOnStdout: false }, async (ctxArgs) => {
      const { reporter } = ctxArgs;
      // Every option is checked before anything reaches the network (a relay, or LAN mode's relay and announcements).
      const spec = sourceSpec(paths, flags, io);
      if (flags.drop === true) {
        if (flags.count !== '1') throw createError('USAGE', '--count is for live sends; a drop takes --downloads');
        return sendDropAction(spec, flags, io, ctxArgs);
      }
      if (flags.expire !== undefined || flags.downloads !== undefined)
        throw createError('USAGE', '--expire and --downloads are for --drop only');
      const count = wholeNumber(flags.count, '--count', 1, MAX_SEATS);
      const secretLength =
        flags.codeLength === undefined
          ? secretLengthFor(count)
          : wholeNumber(flags.codeLength, '--code-length', MIN_SECRET_LENGTH, MAX_SECRET_LENGTH);
      if (count > 1 && 'stdin' in spec)
        throw createError('USAGE', '--count cannot send standard input (it is read once)');
      const code = presetCode(flags, io, (m) => reporter.warn(m));
      const ctx = makeContext(flags, io, reporter, ctxArgs.signal);
      const source = 'text' in spec && spec.text === TEXT_FROM_STDIN ? await textFromStdin(io, reporter) : spec;
      // Loaded here, not at start-up: `portunus --help` and a usage error need none of the transfer's modules.
      const opts = { source, code, secretLength, qr: flags.qr && io.stderr.isTTY === true, relayArg: ctx.relayUrl };
      if (count > 1) return (await import('../transfer/send-many.js')).sendMany(ctx, { ...opts, count });
      const [{ send }, { reportDone }] = await Promise.all([import('../transfer/send.js'), import('../ui/summary.js')]);
      reportDone(reporter, 'send', await send(ctx, opts));
    }),
  );
}

async function sendDropAction(
  spec: SourceSpec,
  flags: SendFlags,
  io: Io,
  ctxArgs: { reporter: Reporter; signal: AbortSignal },
): Promise<void> {
  if (flags.code !== undefined) throw createError('USAGE', '--code is for live transfers: a drop draws its own code');
  if ('stdin' in spec) {
    throw createError('USAGE', 'a drop needs its size in advance, and standard input has none', {
      hint: 'Save it to a file first and send that with --drop, or send it live (without --drop).',
    });
  }
  const expires = parseDuration(flags.expire ?? '24h', '--expire');
  const downloads = wholeNumber(flags.downloads ?? '1', '--downloads', 1, MAX_DROP_DOWNLOADS);
  const ctx = makeContext(flags, io, ctxArgs.reporter, ctxArgs.signal);
  const source = 'text' in spec && spec.text === TEXT_FROM_STDIN ? await textFromStdin(io, ctxArgs.reporter) : spec;
  const [{ sendDrop }, { reportDone }] = await Promise.all([
    import('../drop/drop-send.js'),
    import('../ui/summary.js'),
  ]);
  const result = await sendDrop(ctx, {
    source,
    expires,
    downloads,
    qr: flags.qr && io.stderr.isTTY === true,
    stateDir: dropStateDir(io.env),
  });
  reportDone(ctxArgs.reporter, 'send', { ...result, transport: 'relay' });
}

function sourceSpec(paths: string[], flags: SendFlags, io: Io): SourceSpec {
  const path = paths.length === 1 ? paths[0] : undefined;
  if (flags.name !== undefined && path !== '-') throw createError('USAGE', '--name is for standard input (-) only');
  if (flags.text !== undefined) {
    if (paths.length > 0) throw createError('USAGE', 'give either paths or --text, not both');
    return { text: flags.text };
  }
  if (paths.length > 1) return severalPaths(paths);
  if (path === undefined) throw createError('USAGE', 'nothing to send: give a path, - for standard input, or --text');
  if (path === '-') {
    if (io.stdin.isTTY) throw createError('USAGE', 'standard input is a terminal; pipe data in, or give a path');
    return { stdin: io.stdin, name: flags.name ?? 'stdin' };
  }
  return { path };
}

/** Several paths land side by side, so two with the same last component would collide on the receiver. */
function severalPaths(paths: string[]): SourceSpec {
  if (paths.includes('-')) throw createError('USAGE', 'standard input (-) cannot be sent together with other paths');
  const seen = new Map<string, string>();
  for (const path of paths) {
    const name = basename(resolve(path));
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      throw createError(
        'USAGE',
        `${quoteForTerminal(earlier)} and ${quoteForTerminal(path)} would both arrive as ${quoteForTerminal(name)}`,
        { hint: 'Entries land side by side on the receiver: rename one, or send them in two transfers.' },
      );
    }
    seen.set(name, path);
  }
  return { paths };
}

async function textFromStdin(io: Io, reporter: Reporter): Promise<SourceSpec> {
  if (io.stdin.isTTY) reporter.say('Type the message, then press Ctrl-D at the start of a line:');
  return { text: await readTextInput(io.stdin) };
}

function presetCode(flags: SendFlags, io: Io, warn: (m: string) => void): Code | undefined {
  const text = flags.code ?? io.env.PORTUNUS_CODE;
  if (text === undefined || text === '') return undefined;
  const code = parseCode(text);
  if (code instanceof PortunusError) throw code;
  if (flags.code !== undefined)
    warn('a code given as an argument is visible to other users in the process list; prefer PORTUNUS_CODE');
  return code;
}
