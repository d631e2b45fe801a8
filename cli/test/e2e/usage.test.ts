/**
 * Usage errors from the real executable: whatever the mistake (commander's or ours), the same two lines as every
 * other error (`portunus: …` and `  hint: …`), the same `error` event with --json, exit 2, and nothing else printed.
 */
import { describe, expect, it } from 'vitest';
import { exitOf, runPortunus } from './harness.js';

async function usageError(args: string[]): Promise<{ message: string; hint: string; stdout: string }> {
  const p = runPortunus(args, { env: { XDG_CONFIG_HOME: '/nonexistent-portunus-test' } });
  expect(await exitOf(p, 20_000), p.stderr()).toBe(2);
  const m = /^portunus: (.+)\n {2}hint: (.+)\n$/.exec(p.stderr());
  expect(m, `stderr was: ${p.stderr()}`).not.toBeNull();
  return { message: m![1]!, hint: m![2]!, stdout: p.stdout() };
}

describe('usage errors look like every other error and exit 2', () => {
  it('two paths with the same last component: refused before any code is shown', async () => {
    const e = await usageError(['send', 'cli/package.json', 'packages/web/package.json']);
    expect(e.message).toBe(`"cli/package.json" and "packages/web/package.json" would both arrive as "package.json"`);
    expect(e.hint).toMatch(/rename one, or send them in two transfers/);
    expect(e.stdout).toBe('');
  });

  it('standard input cannot be one of several paths', async () => {
    const e = await usageError(['send', 'README.md', '-']);
    expect(e.message).toMatch(/standard input \(-\) cannot be sent together with other paths/);
  });

  it.each([
    [['send', '--bogus', 'x'], /unknown option '--bogus'/, /portunus send --help/],
    [
      ['send', '--transport', 'sideways', 'x'],
      /--transport must be auto or a list of relay, tcp and webrtc \(got 'sideways'\)/,
      /--transport relay,webrtc/,
    ],
    [['send', '--transport', 'tcp,tcp', 'x'], /--transport must be auto or a list/, /--transport auto/],
    [['send', '--stall-timeout', '0', 'x'], /--stall-timeout must be a number of seconds above 0/, /portunus --help/],
    [['receive', '--output'], /'-o, --output <path>' argument missing/, /portunus receive --help/],
    [['config', 'set'], /missing required argument 'key'/, /portunus config set --help/],
    [['config', 'get', 'relay', 'extra'], /too many arguments/, /portunus config get --help/],
    [['frobnicate'], /unknown command 'frobnicate'/, /portunus --help/],
    [['send', '--timeout', 'soon', '--text', 'hi'], /--timeout must be a whole number/, /--help/],
    [['relay', '--port', 'abc'], /--port: expected a number/, /--help/],
  ])('%j', async (args, message, hint) => {
    const e = await usageError(args);
    expect(e.message).toMatch(message);
    expect(e.hint).toMatch(hint);
  });

  it('with --json: one error event on stdout, nothing on stderr', async () => {
    const p = runPortunus(['send', '--json', 'a/x', 'b/x']);
    expect(await exitOf(p, 20_000)).toBe(2);
    expect(p.stderr()).toBe('');
    expect(p.events()).toEqual([
      {
        event: 'error',
        error: 'USAGE',
        message: expect.stringMatching(/would both arrive as "x"/),
        hint: expect.stringMatching(/send them in two transfers/),
        exit: 2,
      },
    ]);
  });

  it('with --json and -o - (data on stdout): the error event goes to stderr, stdout stays empty', async () => {
    const p = runPortunus(['receive', '--json', '-o', '-', '--bogus']);
    expect(await exitOf(p, 20_000)).toBe(2);
    expect(p.stdout()).toBe('');
    expect(p.events('stderr')).toEqual([
      { event: 'error', error: 'USAGE', message: "unknown option '--bogus'", hint: expect.any(String), exit: 2 },
    ]);
  });

  it('asked-for help and the version still succeed', async () => {
    for (const args of [['--help'], ['send', '--help'], ['--version']]) {
      const p = runPortunus(args);
      expect(await exitOf(p, 20_000)).toBe(0);
      expect(p.stdout()).not.toBe('');
      expect(p.stderr()).toBe('');
    }
  });
});
