/**
 * Commander's own complaints (unknown option, missing or extra argument, bad choice, unknown command) as USAGE
 * errors, so they look like every other error: `portunus: message` and a hint on stderr, an `error` event with
 * --json, exit 2. Commander prints nothing itself: `routeUsageErrors` silences it and throws ours instead.
 */
import { CommanderError, type Command } from 'commander';
import { createError, PortunusError } from '@portunus/protocol/errors';

/** What commander reports by throwing although nothing went wrong (help or the version, asked for). */
const NOT_ERRORS = new Set([
  'commander.helpDisplayed',
  'commander.version',
  'commander.help',
  'commander.executeSubCommandAsync',
]);

/** Applies to `cmd` and every subcommand: commander's errors become PortunusErrors thrown out of `parseAsync`. */
export function routeUsageErrors(cmd: Command): void {
  cmd.configureOutput({ outputError: () => {} });
  cmd.exitOverride((err) => {
    throw NOT_ERRORS.has(err.code) ? err : usageError(err, cmd);
  });
  cmd.commands.forEach(routeUsageErrors);
}

function usageError(err: CommanderError, cmd: Command): PortunusError {
  return createError('USAGE', err.message.replace(/^error: /, ''), {
    hint: hintFor(err.code, commandPath(cmd)),
    cause: err,
  });
}

function hintFor(code: string, command: string): string {
  if (code === 'commander.unknownCommand') return 'Run `portunus --help` to see the commands.';
  return `Run \`${command} --help\` for usage.`;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
