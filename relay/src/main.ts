/**
 * Standalone entry running only `portunus relay` (the container image's CMD: `node dist/relay/src/main.js`).
 * Errors are printed as message and hint, with the PortunusError exit code.
 */
import { toPortunusError } from '../../packages/protocol/src/errors.js';
import { relayCommand } from './command.js';

const command = relayCommand().name('portunus-relay');
command.exitOverride();
try {
  await command.parseAsync(process.argv);
} catch (err) {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('commander.')) {
    // Commander has printed its own message (usage error, --help, --version).
    process.exitCode = (err as { exitCode?: number }).exitCode ?? 2;
  } else {
    const error = toPortunusError(err);
    process.stderr.write(`portunus relay: ${error.message}\n${error.hint}\n`);
    process.exitCode = error.exitCode;
  }
}
