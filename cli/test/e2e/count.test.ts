/**
 * `portunus send --count N` (issue 16, live one-to-many; PROTOCOL.md §2.4 "Seats"): real relay, real CLI processes,
 * loopback only. Receivers started together each get the file over a seat of their own; one more is refused as for
 * a nameplate in use; a wrong code costs one seat and the others still complete.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, TRANSFER_MS, useRelayWorld, type Proc } from './harness.js';
import { hasScript, runInPty } from './pty.js';

const world = useRelayWorld({ beforeAll, afterAll });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

if (!hasScript) console.log('skipping the --count prompt test: script(1) is not installed (apt-get install bsdutils)');

/** A folder with `data.bin` to send, and one empty folder per receiver. */
async function folders(name: string, receivers: number) {
  const dir = join(world.tmp, name);
  const content = randomBytes(1_500_000);
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(join(dir, 'src', 'data.bin'), content);
  const dsts = Array.from({ length: receivers }, (_, i) => join(dir, `dst${i + 1}`));
  for (const dst of dsts) await mkdir(dst);
  return { src: join(dir, 'src'), dsts, content };
}

function sendCount(src: string, count: number): Proc {
  return runPortunus(['send', '--json', '--count', String(count), '--relay', world.relay.url, 'data.bin'], {
    cwd: src,
  });
}

function receive(dst: string, code: string): Proc {
  return runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url, code], { cwd: dst });
}

describe('send --count', () => {
  it.skipIf(!hasScript)(
    'serves three receivers started together, each with its own key exchange, and refuses a fourth',
    async () => {
      const { src, dsts, content } = await folders('count-three', 3);
      const sender = sendCount(src, 3);
      const code = await sender.waitEvent('code');
      expect(code.count).toBe(3);
      // One symbol longer than a single send's code: three guesses, the bound kept at 2^-30 (PROTOCOL.md §1.4).
      expect(String(code.code)).toMatch(/^\d+-[0-9A-Z]{3}-[0-9A-Z]{3}-[0-9A-Z]$/);
      // Each receiver asks before accepting, so all three hold their seats while the fourth comes.
      const receivers = dsts.map((dst) =>
        runInPty(['receive', '--relay', world.relay.url, String(code.code)], { cwd: dst }),
      );
      await Promise.all(receivers.map((r) => r.waitFor(/Receive\? \[y\/N\]/)));
      const fourth = receive(dsts[0]!, String(code.code));
      expect(await exitOf(fourth)).toBe(3);
      expect(fourth.events().find((e) => e.event === 'error')).toMatchObject({
        error: 'NAMEPLATE_IN_USE',
        message: expect.stringMatching(/every seat of this nameplate is taken/),
      });
      for (const r of receivers) r.type('y\r');
      expect(await Promise.all(receivers.map((r) => r.exit))).toEqual([0, 0, 0]);
      expect(await exitOf(sender, TRANSFER_MS)).toBe(0);
      for (const dst of dsts) expect(sha256(await readFile(join(dst, 'data.bin')))).toBe(sha256(content));
      const done = sender.events().filter((e) => e.event === 'done');
      expect(done.map((e) => e.receiver).sort()).toEqual([1, 2, 3]);
      for (const e of done) expect(e.sha256).toBe(sha256(content));
      // Three key exchanges: three sessions, three verifiers.
      const verifiers = sender
        .events()
        .filter((e) => e.event === 'confirmed')
        .map((e) => e.verifier);
      expect(new Set(verifiers).size).toBe(3);
      expect(sender.events().at(-1)).toEqual({ event: 'served', completed: 3, failed: 0 });
    },
    TRANSFER_MS,
  );

  it(
    'a wrong code costs one seat: the other receivers still get the file, the sender reports the failure',
    async () => {
      const { src, dsts, content } = await folders('count-wrong', 3);
      const sender = sendCount(src, 3);
      const code = String((await sender.waitEvent('code')).code);
      const nameplate = code.split('-')[0]!;
      const wrong = receive(dsts[2]!, `${nameplate}-AAA-AAA-A`);
      expect(await exitOf(wrong)).toBe(3);
      expect(wrong.events().find((e) => e.event === 'error')).toMatchObject({ error: 'WRONG_CODE' });
      const receivers = [receive(dsts[0]!, code), receive(dsts[1]!, code)];
      expect(await Promise.all(receivers.map((r) => exitOf(r, TRANSFER_MS)))).toEqual([0, 0]);
      for (const dst of dsts.slice(0, 2)) expect(sha256(await readFile(join(dst, 'data.bin')))).toBe(sha256(content));
      // One failure of three: the first failure's exit code (a wrong code: 3), after both others completed.
      expect(await exitOf(sender, TRANSFER_MS)).toBe(3);
      const events = sender.events();
      expect(events.filter((e) => e.event === 'done')).toHaveLength(2);
      const failed = events.filter((e) => e.event === 'error' && e.receiver !== undefined);
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ error: 'WRONG_CODE' });
      expect(events.find((e) => e.event === 'served')).toEqual({ event: 'served', completed: 2, failed: 1 });
      expect(events.at(-1)).toMatchObject({ event: 'error', error: 'WRONG_CODE', exit: 3 });
    },
    TRANSFER_MS,
  );

  it.skipIf(!hasScript)('refuses --verify, which would ask one question per receiver at once', async () => {
    const p = runInPty(['send', '--count', '2', '--verify', '--relay', world.relay.url, '--text', 'hi'], {
      cwd: world.tmp,
    });
    expect(await p.exit).toBe(2);
    expect(p.output()).toMatch(/--verify asks one question per receiver: not with --count/);
  });

  it('refuses what it cannot do before reaching the network', async () => {
    const usage = async (args: string[], pattern: RegExp) => {
      const p = runPortunus(['send', '--relay', world.relay.url, ...args], { cwd: world.tmp, stdin: 'x' });
      expect(await exitOf(p)).toBe(2);
      expect(p.stderr()).toMatch(pattern);
    };
    await usage(['--count', '21', '--text', 'hi'], /--count must be a whole number from 1 to 20/);
    await usage(['--count', '2', '-'], /--count cannot send standard input/);
    await usage(['--count', '2', '--code', '7-ABC-DEF', '--text', 'hi'], /--count takes its nameplate from the relay/);
  });
});
