/**
 * Runs a command's action with the shared plumbing: a reporter, Ctrl-C handling (first press cancels cleanly and
 * tells the peer, a second one exits at once) and the error → exit-code mapping.
 */
import { createError, toPortunusError, type PortunusError } from '@portunus/protocol/errors';
import { ExitCode, exitCodeOf } from '../ui/error-guide.js';
import { Reporter } from '../ui/reporter.js';
import { makeReporter, type CommonOptions, type Io } from './common.js';

/** Exit status after Ctrl-C, by shell convention (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export interface ActionSetup {
  role: 'send' | 'receive';
  /** Received data goes to stdout (`-o -`), so JSON events go to stderr. */
  dataOnStdout: boolean;
}

export async function runAction(
  io: Io,
  opts: CommonOptions,
  setup: ActionSetup,
  body: (args: { reporter: Reporter; signal: AbortSignal }) => Promise<void>,
): Promise<void> {
  const reporter = makeReporter(opts, io, setup.dataOnStdout);
  const cancel = new AbortController();
  const cancelled = cancelledHere(setup.role);
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(EXIT_INTERRUPTED);
    interrupted = true;
    cancel.abort(cancelled);
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    await body({ reporter, signal: cancel.signal });
    process.exitCode = ExitCode.OK;
  } catch (err) {
    const error = toPortunusError(err);
    // What the interruption caused is reported as what it is (this side cancelled); any other error as itself.
    const shown = interrupted && (error.code === 'CANCELLED' || error.code === 'INTERRUPTED') ? cancelled : error;
    const exit = interrupted ? EXIT_INTERRUPTED : exitCodeOf(error);
    reporter.error(shown, exit);
    process.exitCode = exit;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

/** The error this side reports after Ctrl-C (or SIGTERM); the other side hears CANCELLED from the session. */
function cancelledHere(role: ActionSetup['role']): PortunusError {
  return createError('CANCELLED', 'cancelled on this side', {
    hint:
      role === 'send' ? 'Nothing more was sent, and the receiver keeps nothing of it.' : 'Nothing partial was kept.',
  });
}
