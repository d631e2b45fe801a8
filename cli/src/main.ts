/**
 * The `portunus` executable: subcommands send, receive and relay. Usage errors exit 2; every other failure exits
 * with the code from the protocol's error table (see README "Exit codes").
 */
import { Command, CommanderError } from 'commander';
import { relayCommand } from '@portunus/relay/command';
import { toPortunusError } from '@portunus/protocol/errors';
import { ExitCode, exitCodeOf } from './ui/error-guide.js';
import { configCommand } from './commands/config.js';
import { receiveCommand } from './commands/receive.js';
import { sendCommand } from './commands/send.js';
import { makeReporter, type Io } from './commands/common.js';
import { routeUsageErrors } from './commands/usage-error.js';
import type { Reporter } from './ui/reporter.js';
import { VERSION } from './version.js';
import { tuneGcForBulkData } from './gc-flags.js';

export function buildProgram(io: Io): Command {
  const program = new Command('portunus')
    .description('Move files between two computers with a short code, end-to-end encrypted.')
    .version(VERSION, '-V, --version')
    .addHelpText(
      'after',
      `
Examples:
  $ portunus send report.zip            # prints a code like 7-H7K-29A
  $ portunus receive 7-H7K-29A          # on the other computer
  $ portunus send --drop --relay ws://relay:4747 build.tgz   # store it on the relay: receive it later, by D-… code
  $ portunus relay --port 4747          # run your own relay
  $ portunus config set relay wss://relay.example.org   # meet through it by default

Without a relay (no --relay, PORTUNUS_RELAY or config), both sides must be on one network: LAN mode.
Environment: PORTUNUS_RELAY (relay URL), PORTUNUS_CODE (code for send/receive), PORTUNUS_LAN_PORT
             (UDP port of LAN discovery, default 4747), XDG_CONFIG_HOME, NO_COLOR.
Exit codes: 0 ok, 1 internal error, 2 usage, 3 wrong code, 4 declined (by you or the receiver) or cancelled by
            the other side, 5 timed out, 6 relay unreachable/incompatible or no sender found, 7 transfer
            corrupted/interrupted, 8 local file problem, 130 cancelled here with Ctrl-C.`,
    );
  program.addCommand(sendCommand(io));
  program.addCommand(receiveCommand(io));
  program.addCommand(relayCommand());
  program.addCommand(configCommand(io));
  routeUsageErrors(program);
  // The relay forwards bulk data from its start; send and receive tune once they know a transfer's size
  // (tuneGcForTransfer). Help, --version and usage errors never get here.
  program.hook('preAction', (_program, action) => {
    if (action.name() === 'relay') tuneGcForBulkData();
  });
  return program;
}

/**
 * Reports an error no command reported itself: a usage error (parsing failed, so the options are looked for in the
 * raw arguments: --json, and `-o -`, which moves JSON events to stderr) or a failure of `portunus relay`.
 */
function fallbackReporter(args: readonly string[], io: Io): Reporter {
  const end = args.indexOf('--');
  const given = end === -1 ? args : args.slice(0, end);
  const dataOnStdout = given.some(
    (a, i) => a === '--output=-' || a === '-o-' || ((a === '-o' || a === '--output') && given[i + 1] === '-'),
  );
  return makeReporter(
    { json: given.includes('--json'), verbose: given.includes('--verbose') || given.includes('-v') },
    io,
    dataOnStdout,
  );
}

/**
 * A reader that goes away early (`portunus --help | head -1`, or a script that reads the code from
 * `send --json … | head -1`) must not crash the process with an unhandled EPIPE, nor stop a transfer it started:
 * what that reader no longer reads is dropped. Data received to standard output (`-o -`) still fails on it: its
 * writes see the error in their own callbacks (stdout-sink.ts).
 */
function ignoreClosedReaders(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
}

async function main(): Promise<void> {
  ignoreClosedReaders();
  const io: Io = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  };
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
    const error = toPortunusError(err);
    fallbackReporter(process.argv.slice(2), io).error(error);
    process.exitCode = exitCodeOf(error);
  }
}

// No top-level await: the build makes this a CommonJS bundle, which V8 can load from its code cache (cli/bin/portunus).
void main().then(async () => {
  // werift can leave a timer behind after its peer connection is closed (a TURN allocation refresh sleeps up to
  // 500 s, not cancellable), which would keep a finished transfer's process alive: once stdout and stderr have taken
  // what was written, end with the exit code already set. (`portunus relay` returns only once the relay has stopped.)
  await Promise.all(
    [process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))),
  );
  process.exit();
});
