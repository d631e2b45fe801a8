/** `portunus receive`: option parsing only; the work is in transfer/receive.ts. */
import { Command } from 'commander';
import { PortunusError, parseCode, type Code } from '@portunus/protocol';
import { receive } from '../transfer/receive.js';
import { reportDone } from '../ui/summary.js';
import { askLine, canPrompt } from '../ui/prompt.js';
import { addCommonOptions, makeContext, type CommonOptions, type Io } from './common.js';
import { runAction } from './run.js';

interface ReceiveFlags extends CommonOptions {
  output?: string;
  yes?: boolean;
  overwrite?: boolean;
}

export function receiveCommand(io: Io): Command {
  const cmd = new Command('receive')
    .description('receive what the other side sends, using its code')
    .argument('[code]', 'the code the sender shows, like 7-H7K-29A (or env PORTUNUS_CODE; asked for when omitted)')
    .option(
      '-o, --output <path>',
      "where to put it: a file or folder name, an existing folder, or '-' for standard output",
    )
    .option('-y, --yes', 'accept without asking')
    .option('--overwrite', 'replace an existing file or folder of the same name');
  addCommonOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ portunus receive 7-H7K-29A
  $ portunus receive 7-H7K-29A -o ~/Downloads/
  $ portunus receive 7-H7K-29A -o - | tar x
  $ PORTUNUS_CODE=7-H7K-29A portunus receive --yes --json --relay ws://relay:4747`,
  );
  return cmd.action((codeArg: string | undefined, flags: ReceiveFlags) =>
    runAction(io, flags, { role: 'receive', dataOnStdout: flags.output === '-' }, async ({ reporter, signal }) => {
      const ctx = makeContext(flags, io, reporter, signal);
      // Decide up front whether we can ask, so a script without --yes fails at once instead of hanging.
      if (!flags.yes && !canPrompt(ctx.prompt)) {
        throw new PortunusError('NOT_INTERACTIVE', 'cannot ask whether to accept: standard input is not a terminal', {
          hint: 'Pass --yes to accept without asking.',
        });
      }
      const code = await obtainCode(codeArg, io, ctx.prompt);
      const result = await receive(ctx, {
        code,
        output: flags.output,
        cwd: io.cwd,
        overwrite: flags.overwrite === true,
        yes: flags.yes === true,
        stdout: io.stdout,
        textOut: reporter.mode === 'json' ? undefined : io.stdout,
      });
      reportDone(reporter, 'receive', result);
    }),
  );
}

async function obtainCode(arg: string | undefined, io: Io, prompt: Parameters<typeof askLine>[0]): Promise<Code> {
  const text =
    arg ??
    io.env.PORTUNUS_CODE ??
    (await askLine(prompt, 'Enter the code: ', 'Pass the code as an argument or in PORTUNUS_CODE.'));
  const code = parseCode(text);
  if (code instanceof PortunusError) throw code;
  return code;
}
