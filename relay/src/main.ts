/**
 * Standalone entry running only `portunus relay` (the container image's ENTRYPOINT: `node dist/main.js`, in the
 * relay package's folder).
 * Errors are printed as message and hint; a usage error exits 2 (as the CLI's), anything else 1.
 */
import { toPortunusError } from '@portunus/protocol';
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
    const hint = error.hint ?? (error.code === 'USAGE' ? 'Run `portunus-relay --help` for usage.' : '');
    process.stderr.write(`portunus relay: ${error.message}\n${hint}\n`);
    process.exitCode = error.code === 'USAGE' ? 2 : 1;
  }
}
