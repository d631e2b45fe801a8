/**
 * Runs a command's action with the shared plumbing: a reporter, Ctrl-C handling (first press cancels cleanly and
 * tells the peer, a second one exits at once) and the error → exit-code mapping.
 */
import { ExitCode, toPortunusError } from '../protocol.js';
import { Reporter } from '../ui/reporter.js';
import { makeReporter, type CommonOptions, type Io } from './common.js';

/** Exit status after Ctrl-C, by shell convention (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export async function runAction(
  io: Io,
  opts: CommonOptions,
  dataOnStdout: boolean,
  body: (args: { reporter: Reporter; signal: AbortSignal }) => Promise<void>,
): Promise<void> {
  const reporter = makeReporter(opts, io, dataOnStdout);
  const cancel = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(EXIT_INTERRUPTED);
    interrupted = true;
    cancel.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    await body({ reporter, signal: cancel.signal });
    process.exitCode = ExitCode.OK;
  } catch (err) {
    const error = toPortunusError(err);
    reporter.error(error);
    process.exitCode = interrupted ? EXIT_INTERRUPTED : error.exitCode;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
