/** The receiver's wait for a sender, on a fake clock: a terminal hears what to check after NOBODY_YET_MS; scripts do not. */
import { describe, expect, it } from 'vitest';
import { Reporter } from '../../src/ui/reporter.js';
import { NOBODY_YET_MS, showWaiting } from '../../src/ui/waiting.js';
import { captured, fakeClock } from './fake-clock.js';

function setup(mode: 'human' | 'json', isTTY: boolean) {
  const clock = fakeClock();
  const stderr = captured(isTTY);
  const stdout = captured();
  const reporter = new Reporter({
    mode,
    jsonStream: stdout.stream,
    stderr: stderr.stream,
    verbose: false,
    color: false,
    clock,
  });
  return { clock, stderr, stdout, reporter };
}

describe('waiting for the sender', () => {
  it('on a terminal: after NOBODY_YET_MS, says nobody came, what to check (the number, the relay), and keeps waiting', () => {
    const { clock, stderr, reporter } = setup('human', true);
    showWaiting(reporter, 42, 'wss://relay.example.org');
    expect(stderr.lines()).toEqual(['Waiting for the sender… (Ctrl-C to cancel)']);
    clock.advance(NOBODY_YET_MS - 1);
    expect(stderr.lines()).toHaveLength(1);
    clock.advance(1);
    const said = stderr.lines().slice(1).join('\n');
    expect(said).toMatch(/No sender has come with code 42-… in 10 s\. Still waiting/);
    expect(said).toMatch(/the number before the first dash \(42\)/);
    expect(said).toMatch(/uses the same relay \(wss:\/\/relay\.example\.org\)/);
    clock.advance(10 * NOBODY_YET_MS);
    expect(stderr.lines()).toHaveLength(4);
  });

  it('says nothing more once the sender came in time', () => {
    const { clock, stderr, reporter } = setup('human', true);
    const came = showWaiting(reporter, 42, 'wss://relay.example.org');
    clock.advance(NOBODY_YET_MS / 2);
    came();
    clock.advance(NOBODY_YET_MS);
    expect(stderr.lines()).toEqual(['Waiting for the sender… (Ctrl-C to cancel)']);
  });

  it.each([
    ['a log (no terminal)', 'human', false],
    ['--json', 'json', false],
  ] as const)('%s: only what it printed before', (_what, mode, isTTY) => {
    const { clock, stderr, stdout, reporter } = setup(mode, isTTY);
    showWaiting(reporter, 42, 'wss://relay.example.org');
    const before = [stderr.text(), stdout.text()];
    clock.advance(10 * NOBODY_YET_MS);
    expect([stderr.text(), stdout.text()]).toEqual(before);
    if (mode === 'json') expect(stdout.lines()).toEqual(['{"event":"waiting","nameplate":42}']);
  });
});
