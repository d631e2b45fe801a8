/**
 * `send --text -` reads the message from standard input (as magic-wormhole does): exactly those bytes arrive, at
 * most 64 KiB, UTF-8 only; a refusal comes before anything reaches the relay.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, ROOT, runPortunus, useRelayWorld } from './harness.js';
import { portunusBinDir, runShell } from './shell.js';

const world = useRelayWorld({ beforeAll, afterAll });
let bin: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  bin = await portunusBinDir();
});
afterAll(async () => {
  await bin.cleanup();
});

let nameplate = 500;
const freshCode = () => `${nameplate++}-H7K-29A-X9D`;

async function receivedText(code: string): Promise<unknown> {
  const receiver = runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url, code]);
  expect(await exitOf(receiver), receiver.stderr()).toBe(0);
  return receiver.events().find((e) => e.event === 'done')?.text;
}

describe('send --text -', () => {
  it('sends exactly what standard input holds (the README line, run in a shell)', async () => {
    const code = freshCode();
    const sender = runShell('git log -1 | portunus send --text -', {
      binDir: bin.path,
      cwd: ROOT,
      env: { PORTUNUS_RELAY: world.relay.url, PORTUNUS_CODE: code },
    });
    expect(await receivedText(code)).toBe(execFileSync('git', ['log', '-1'], { cwd: ROOT, encoding: 'utf8' }));
    expect(await sender.exit, sender.stderr()).toBe(0);
  });

  it('keeps non-ASCII text and newlines as they are; 64 KiB is allowed', async () => {
    const code = freshCode();
    const text = 'grüße, 世界\n'.repeat(4000).slice(0, 20_000);
    const sender = runPortunus(['send', '--json', '--relay', world.relay.url, '--text', '-'], {
      stdin: text,
      env: { PORTUNUS_CODE: code },
    });
    await sender.waitEvent('code');
    expect(await receivedText(code)).toBe(text);
    expect(await exitOf(sender)).toBe(0);
    const fullCode = freshCode();
    const full = runPortunus(['send', '--json', '--relay', world.relay.url, '--text', '-'], {
      stdin: 'x'.repeat(64 * 1024),
      env: { PORTUNUS_CODE: fullCode },
    });
    await full.waitEvent('code');
    expect(await receivedText(fullCode)).toBe('x'.repeat(64 * 1024));
    expect(await exitOf(full)).toBe(0);
  });

  it.each([
    ['more than 64 KiB', Buffer.alloc(64 * 1024 + 1, 'x'), /longer than 64 KiB/],
    ['not UTF-8', Buffer.from([0x68, 0x69, 0xff, 0xfe]), /not UTF-8/],
  ])('refuses %s with exit 2, before asking the relay for a code', async (_what, input, message) => {
    const sender = runPortunus(['send', '--json', '--relay', world.relay.url, '--text', '-', '--timeout', '5'], {
      stdin: input,
    });
    expect(await exitOf(sender)).toBe(2);
    expect(sender.events().map((e) => e.event)).toEqual(['error']);
    expect(sender.events()[0]).toMatchObject({
      error: 'USAGE',
      message: expect.stringMatching(message),
      hint: expect.stringMatching(/portunus send - --name/),
    });
  });
});
