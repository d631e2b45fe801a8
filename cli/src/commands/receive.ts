/** `portunus receive`: option parsing only; the work is in transfer/receive.ts. */
import { Command } from 'commander';
import { createError, PortunusError } from '@portunus/protocol/errors';
import { looksLikeDropCode, parseDropCode, type DropCode } from '@portunus/protocol/drop-code';
import { parseCode, type Code } from '@portunus/protocol/code';
import { dropStateDir } from '../drop/state-dir.js';
import { relayEndpoint } from '../relay-client/endpoint.js';
import { isDropCode, looksLikeLink, parseLink, type PageLink } from '../ui/page-link.js';
import { askLine, canPrompt } from '../ui/prompt.js';
import type { Reporter } from '../ui/reporter.js';
import { addCommonOptions, makeContext, type CommonOptions, type Io } from './common.js';
import { runAction } from './run.js';

interface ReceiveFlags extends CommonOptions {
  output?: string;
  yes?: boolean;
  overwrite?: boolean;
  rename?: boolean;
  resume?: boolean;
}

export function receiveCommand(io: Io): Command {
  const cmd = new Command('receive')
    .description('receive what the other side sends, using its code')
    .argument(
      '[code]',
      "the code the sender shows, like 7-H7K-29A, or its link to the relay's page, like https://relay.example/#7-H7K-29A (or env PORTUNUS_CODE; asked for when omitted)",
    )
    .option(
      '-o, --output <path>',
      "where to put it: a file or folder name, an existing folder, or '-' for standard output",
    )
    .option('-y, --yes', 'accept without asking')
    .option('--overwrite', 'replace an existing file or folder of the same name')
    .option('--rename', "keep an existing file or folder: save under a free name like 'a (1).txt'")
    .option(
      '--no-resume',
      'start over: discard what an interrupted receive of the same file, folder or paths left here instead of continuing it',
    );
  addCommonOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ portunus receive 7-H7K-29A
  $ portunus receive 7-H7K-29A -o ~/Downloads/
  $ portunus receive 7-H7K-29A --rename          # keep what exists: a.txt arrives as 'a (1).txt'
  $ portunus receive 7-H7K-29A -o - | tar x
  $ portunus receive 'https://relay.example/#7-H7K-29A'
  $ PORTUNUS_CODE=7-H7K-29A portunus receive --yes --json --relay ws://relay:4747
  $ portunus receive --relay ws://relay:4747 D-7KQ2-M9XD-H4TB-0ZRA-WE5N-C8VJ-P3SG   # a drop (send --drop)

A link names its relay: it is used instead of PORTUNUS_RELAY or the config file's relay. --relay naming another
relay than the link's is an error (the sender waits at the link's relay).

An interrupted file, folder or set of paths (a lost connection, a killed process) leaves a hidden partial copy
beside the target; the same receive run again, with a new code or the same one, continues it once the sender has
checked that it matches its data: a folder's complete files are not sent again (--no-resume starts over).
A drop (a D-… code) is fetched from the relay the sender used; an interrupted download of a file continues from
its last complete MiB without taking another of the drop's downloads (a folder starts over).`,
  );
  return cmd.action((codeArg: string | undefined, flags: ReceiveFlags) =>
    runAction(io, flags, { role: 'receive', dataOnStdout: flags.output === '-' }, async ({ reporter, signal }) => {
      const ctx = makeContext(flags, io, reporter, signal);
      if (flags.overwrite && flags.rename) throw createError('USAGE', 'give either --overwrite or --rename, not both');
      // Decide up front whether we can ask, so a script without --yes fails at once instead of hanging.
      if (!flags.yes && !canPrompt(ctx.prompt)) {
        throw new PortunusError('NOT_INTERACTIVE', 'cannot ask whether to accept: standard input is not a terminal', {
          hint: 'Pass --yes to accept without asking.',
        });
      }
      const obtained = await obtainCode(codeArg, io, ctx.prompt);
      if ('drop' in obtained) {
        const [{ receiveDrop }, { reportDone }] = await Promise.all([
          import('../drop/drop-receive.js'),
          import('../ui/summary.js'),
        ]);
        const { link } = obtained;
        const relayUrl = link === undefined ? ctx.relayUrl : relayForLink(link, flags.relay, ctx.relayUrl, reporter);
        const result = await receiveDrop(
          { ...ctx, relayUrl },
          {
            code: obtained.drop,
            output: flags.output,
            cwd: io.cwd,
            overwrite: flags.overwrite === true,
            rename: flags.rename === true,
            yes: flags.yes === true,
            resume: flags.resume !== false,
            stdout: io.stdout,
            textOut: reporter.mode === 'json' ? undefined : io.stdout,
            stateDir: dropStateDir(io.env),
          },
        );
        reportDone(reporter, 'receive', { ...result, transport: 'relay' });
        return;
      }
      const { code, link } = obtained;
      const relayUrl = link === undefined ? ctx.relayUrl : relayForLink(link, flags.relay, ctx.relayUrl, reporter);
      // Loaded here, not at start-up: `portunus --help` and a usage error need none of the transfer's modules.
      const [{ receive }, { reportDone }] = await Promise.all([
        import('../transfer/receive.js'),
        import('../ui/summary.js'),
      ]);
      const result = await receive(
        { ...ctx, relayUrl },
        {
          code,
          output: flags.output,
          cwd: io.cwd,
          overwrite: flags.overwrite === true,
          rename: flags.rename === true,
          yes: flags.yes === true,
          resume: flags.resume !== false,
          stdout: io.stdout,
          textOut: reporter.mode === 'json' ? undefined : io.stdout,
        },
      );
      reportDone(reporter, 'receive', result);
    }),
  );
}

/** The code from the argument, PORTUNUS_CODE or the prompt: a code, or a link to a relay's page holding one. */
async function obtainCode(
  arg: string | undefined,
  io: Io,
  prompt: Parameters<typeof askLine>[0],
): Promise<{ code: Code; link?: PageLink } | { drop: DropCode; link?: PageLink }> {
  const text =
    arg ??
    io.env.PORTUNUS_CODE ??
    (await askLine(prompt, 'Enter the code: ', 'Pass the code as an argument or in PORTUNUS_CODE.'));
  if (looksLikeDropCode(text)) {
    const drop = parseDropCode(text);
    if (drop instanceof PortunusError) throw drop;
    return { drop };
  }
  if (looksLikeLink(text)) {
    const link = parseLink(text);
    return isDropCode(link.code) ? { drop: link.code, link } : { code: link.code, link };
  }
  const code = parseCode(text);
  if (code instanceof PortunusError) throw code;
  return { code };
}

/**
 * The relay to use with a link: the sender waits at the link's relay, so that one, unless the user configured the
 * same relay (same scheme, host and port: theirs is kept, as it may carry a path). A relay from PORTUNUS_RELAY or
 * the config file is a default the link overrides, saying so; an explicit --relay naming another relay contradicts
 * the link, and guessing which one was meant would surprise either way.
 */
function relayForLink(
  link: PageLink,
  flag: string | undefined,
  configured: string | undefined,
  reporter: Reporter,
): string {
  if (configured === undefined) return link.relayOrigin;
  const linked = relayEndpoint(link.relayOrigin).origin;
  if (relayEndpoint(configured).origin === linked) return configured;
  if (flag !== undefined && flag !== '') {
    throw createError('USAGE', `the link is for the relay at ${link.relayOrigin}, but --relay names another one`, {
      hint: 'Drop --relay (the link names its relay), or give the code alone with --relay.',
    });
  }
  reporter.say(`Using the relay in the link (${link.relayOrigin}) instead of the configured one.`);
  return link.relayOrigin;
}
