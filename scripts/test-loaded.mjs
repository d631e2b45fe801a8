/**
 * `npm run test:loaded [-- vitest arguments]`: the test suite (`vitest run`, after the build) while a child process
 * spins in a busy loop, keeping one core fully busy, as another job on a CI runner or a developer's own build would.
 * The tests wait on events, never on the clock (README, Development), and this is how that is checked: on a 2-core
 * machine the suite's processes then share the one core left. The busy loop is started before the suite and stopped
 * after it, whatever happens; the exit code is the suite's.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const vitestPackage = require.resolve('vitest/package.json');
const vitest = join(dirname(vitestPackage), require(vitestPackage).bin.vitest);

// Every 10^7 turns (a few hundredths of a second) the loop checks that this process is still its parent, so it never
// outlives a run that was killed outright.
const BUSY_LOOP =
  'const parent = process.ppid; for (let i = 1; ; i++) if (i % 1e7 === 0 && process.ppid !== parent) process.exit();';
const busy = spawn(process.execPath, ['-e', BUSY_LOOP], { stdio: 'ignore' });
console.log(`test:loaded: process ${busy.pid} keeps one core busy while the suite runs`);

const suite = spawn(process.execPath, [vitest, 'run', ...process.argv.slice(2)], { stdio: 'inherit' });

// Ctrl-C reaches the suite through the terminal's process group; a signal sent to this process alone is passed on.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => suite.kill(signal));

suite.on('error', (err) => {
  busy.kill('SIGKILL');
  console.error(`test:loaded: cannot start vitest: ${err.message}`);
  process.exitCode = 1;
});
suite.on('exit', (code, signal) => {
  busy.kill('SIGKILL');
  console.log(`test:loaded: the suite exited with ${signal ?? code}; the busy loop is stopped`);
  process.exitCode = code ?? 1;
});
