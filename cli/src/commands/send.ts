/** `portunus send`: option parsing only; the work is in transfer/send.ts. */
import { basename, resolve } from 'node:path';
import { Command } from 'commander';
import {
  createError,
  DEFAULT_SECRET_LENGTH,
  MAX_SEATS,
  MAX_SECRET_LENGTH,
  MIN_SECRET_LENGTH,
  PortunusError,
  parseCode,
  secretLengthFor,
  type Code,
} from '@portunus/protocol';
import { quoteForTerminal } from '../files/sanitize.js';
import type { SourceSpec } from '../files/source.js';
import { addCommonOptions, makeContext, wholeNumber, type CommonOptions, type Io } from './common.js';
import { runAction } from './run.js';
import { readTextInput, TEXT_FROM_STDIN } from './text-input.js';
import type { Reporter } from '../ui/reporter.js';

interface SendFlags extends CommonOptions {
  text?: string;
  name?: string;
  code?: string;
  codeLength?: string;
  count: string;
  qr: boolean;
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
    .option('--no-qr', 'do not print a QR code');
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
  $ portunus send --count 3 --relay ws://relay:4747 artifact.tgz   # three receivers, one code`,
  );
  return cmd.action((paths: string[], flags: SendFlags) =>
    runAction(io, flags, { role: 'send', dataOnStdout: false }, async (ctxArgs) => {
      const { reporter } = ctxArgs;
      // Every option is checked before anything reaches the network (a relay, or LAN mode's relay and announcements).
      const spec = sourceSpec(paths, flags, io);
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
