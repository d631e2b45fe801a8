/**
 * A receiver whose sender never comes (a mistyped number before the first dash), on a real pseudo-terminal: after
 * NOBODY_YET_MS it says what to check and keeps waiting until Ctrl-C. Beside it, the same wait without a terminal
 * prints nothing more before its --timeout. The test waits for lines (generously), never for a fixed time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOBODY_YET_MS } from '../../src/ui/waiting.js';
import { exitOf, runPortunus, useRelayWorld } from './harness.js';
import { hasScript, runInPty } from './pty.js';

const world = useRelayWorld({ beforeAll, afterAll });

if (!hasScript)
  console.log('skipping the waiting-receiver test: script(1) is not installed (apt-get install bsdutils)');

describe.skipIf(!hasScript)('a receiver nobody comes to', () => {
  it(
    'on a terminal says what to check and keeps waiting; without one it stays quiet',
    { timeout: 120_000 },
    async () => {
      const quietSeconds = NOBODY_YET_MS / 1000 + 2;
      const log = runPortunus([
        'receive',
        '--yes',
        '--relay',
        world.relay.url,
        '--timeout',
        String(quietSeconds),
        '8123-H7K-29A',
      ]);
      const tty = runInPty(['receive', '--yes', '--relay', world.relay.url, '8124-H7K-29A'], { cwd: world.tmp });
      await tty.waitFor(/Waiting for the sender/);
      await tty.waitFor(/uses the same relay \(.+\)\./, NOBODY_YET_MS + 60_000);
      expect(tty.output()).toMatch(/No sender has come with code 8124-… in 10 s\. Still waiting/);
      expect(tty.output()).toMatch(/the number before the first dash \(8124\)/);
      expect(tty.output()).toContain(`uses the same relay (${world.relay.url}).`);
      tty.type('\x03');
      expect(await tty.exit).toBe(130);
      expect(tty.output()).toMatch(/portunus: cancelled on this side/);
      expect(await exitOf(log, (quietSeconds + 60) * 1000)).toBe(5);
      expect(log.stderr()).toMatch(
        /^Waiting for the sender… \(Ctrl-C to cancel\)\nportunus: no sender came within \d+ s\n/,
      );
    },
  );
});
