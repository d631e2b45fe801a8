/**
 * The `portunus` executable: subcommands send, receive and relay. Usage errors exit 2; every other failure exits
 * with the code from the protocol's error table (see README "Exit codes").
 */
import { Command, CommanderError } from 'commander';
import { relayCommand } from '../../relay/src/command.js';
import { ExitCode } from './protocol.js';
import { receiveCommand } from './commands/receive.js';
import { sendCommand } from './commands/send.js';
import type { Io } from './commands/common.js';
import { VERSION } from './version.js';

export function buildProgram(io: Io): Command {
  const program = new Command('portunus')
    .description('Move files between two computers with a short code, end-to-end encrypted.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ portunus send report.zip            # prints a code like 7-H7K-29A
  $ portunus receive 7-H7K-29A          # on the other computer
  $ portunus relay --port 4747          # run your own relay

Environment: PORTUNUS_RELAY (relay URL), PORTUNUS_CODE (code for send/receive), NO_COLOR.
Exit codes: 0 ok, 1 internal error, 2 usage, 3 wrong code, 4 rejected/cancelled, 5 timed out,
            6 relay unreachable/incompatible, 7 transfer corrupted/interrupted, 8 local file problem.`,
    );
  program.addCommand(sendCommand(io));
  program.addCommand(receiveCommand(io));
  program.addCommand(relayCommand());
  // Commander exits 1 on usage errors; ours is 2, so errors come back to us instead of exiting.
  const exitOverride = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

async function main(): Promise<void> {
  const io: Io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
  const program = buildProgram(io);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Asked-for help and --version succeed; help shown because nothing was asked ('commander.help') is a usage error.
      const benign = err.code === 'commander.helpDisplayed' || err.code === 'commander.version';
      process.exitCode = benign ? ExitCode.OK : ExitCode.USAGE;
      return;
    }
    throw err;
  }
}

await main();
