/**
 * `--verify` on real pseudo-terminals: each side shows the verification string and asks before any file data
 * flows; "no" on either side fails both with REJECTED (exit 4), the other side told why. Without a terminal,
 * --verify is a usage error (exit 2) before anything reaches the network.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, useRelayWorld } from './harness.js';
import { hasScript, runInPty } from './pty.js';

const world = useRelayWorld({ beforeAll, afterAll });

if (!hasScript) console.log('skipping --verify tests: script(1) is not installed (apt-get install bsdutils)');

const QUESTION = /Verification: ([0-9A-Z]{4}-[0-9A-Z]{4})\. Does the other side show the same\? \[y\/N\]/;

async function folders(name: string, content: string) {
  const src = join(world.tmp, `src-${name}`);
  const dst = join(world.tmp, `dst-${name}`);
  await mkdir(src, { recursive: true });
  await mkdir(dst, { recursive: true });
  await writeFile(join(src, name), content);
  return { src, dst };
}

describe.skipIf(!hasScript)('--verify at a terminal', () => {
  it('both sides see the same string; both say yes: the file arrives', async () => {
    const { src, dst } = await folders('verified.txt', 'checked');
    const env = { ...process.env, PORTUNUS_CODE: '71-VRF-Y3S' };
    const sender = runInPty(['send', '--verify', '--relay', world.relay.url, 'verified.txt'], { cwd: src, env });
    await sender.waitFor(/portunus receive/);
    const receiver = runInPty(['receive', '--verify', '--yes', '--relay', world.relay.url], { cwd: dst, env });
    await receiver.waitFor(QUESTION);
    const shown = QUESTION.exec(receiver.output())![1];
    receiver.type('y\r');
    await sender.waitFor(QUESTION);
    expect(QUESTION.exec(sender.output())![1]).toBe(shown);
    sender.type('y\r');
    expect(await sender.exit).toBe(0);
    expect(await receiver.exit).toBe(0);
    expect(await readFile(join(dst, 'verified.txt'), 'utf8')).toBe('checked');
  });

  it('the receiver says no: both exit 4, the sender told why, nothing written', async () => {
    const { src, dst } = await folders('refused.txt', 'not this one');
    const sender = runPortunus(['send', '--json', '--relay', world.relay.url, 'refused.txt'], { cwd: src });
    const code = String((await sender.waitEvent('code')).code);
    const receiver = runInPty(['receive', '--verify', '--yes', '--relay', world.relay.url, code], { cwd: dst });
    await receiver.waitFor(QUESTION);
    expect(QUESTION.exec(receiver.output())![1]).toBe((await sender.waitEvent('confirmed')).verifier);
    receiver.type('n\r');
    expect(await exitOf(sender)).toBe(4);
    expect(await receiver.exit).toBe(4);
    expect(receiver.output()).toMatch(/the verification strings do not match/);
    expect(sender.events().find((e) => e.event === 'error')).toMatchObject({
      error: 'REJECTED',
      message: 'the other side declined the transfer: the verification strings do not match',
    });
    expect(await readdir(dst)).toEqual([]);
  });

  it('the sender says no: both exit 4 before any data, the receiver told why, nothing written', async () => {
    const { src, dst } = await folders('stopped.txt', 'never sent');
    const env = { ...process.env, PORTUNUS_CODE: '72-VRF-N0N' };
    const sender = runInPty(['send', '--verify', '--relay', world.relay.url, 'stopped.txt'], { cwd: src, env });
    await sender.waitFor(/portunus receive/);
    const receiver = runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url], {
      cwd: dst,
      env: { PORTUNUS_CODE: '72-VRF-N0N' },
    });
    await sender.waitFor(QUESTION);
    expect(QUESTION.exec(sender.output())![1]).toBe((await receiver.waitEvent('confirmed')).verifier);
    sender.type('n\r');
    expect(await sender.exit).toBe(4);
    expect(await exitOf(receiver)).toBe(4);
    expect(receiver.events().find((e) => e.event === 'error')).toMatchObject({
      error: 'REJECTED',
      message: 'the other side declined the transfer: the verification strings do not match',
    });
    expect(receiver.events().some((e) => e.event === 'progress' && Number(e.bytes) > 0)).toBe(false);
    expect(await readdir(dst)).toEqual([]);
  });
});

describe('--verify without a terminal', () => {
  it('is a usage error before anything reaches the network, --json or not', async () => {
    for (const args of [
      ['send', '--verify', '--relay', 'ws://127.0.0.1:9', 'README.md'],
      ['receive', '--verify', '--json', '--yes', '--relay', 'ws://127.0.0.1:9', '7-H7K-29A'],
    ]) {
      const p = runPortunus(args);
      expect(await exitOf(p, 20_000)).toBe(2);
      expect(p.stdout() + p.stderr()).toMatch(/--verify needs a terminal to ask on/);
    }
  });
});
