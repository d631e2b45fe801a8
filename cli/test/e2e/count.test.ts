/**
 * `portunus send --count N` (issue 16, live one-to-many; PROTOCOL.md §2.4 "Seats"): real relay, real CLI processes,
 * loopback only. Receivers started together each get the file over a seat of their own; one more is refused as for
 * a nameplate in use; a wrong code costs one seat and the others still complete.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from './faults.js';
import { exitOf, runPortunus, TRANSFER_MS, useRelayWorld, type Proc } from './harness.js';
import { hasScript, runInPty } from './pty.js';

const world = useRelayWorld({ beforeAll, afterAll });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

if (!hasScript) console.log('skipping the --count prompt test: script(1) is not installed (apt-get install bsdutils)');

/** A folder with `data.bin` to send, and one empty folder per receiver. */
async function folders(name: string, receivers: number, size = 1_500_000) {
  const dir = join(world.tmp, name);
  const content = randomBytes(size);
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(join(dir, 'src', 'data.bin'), content);
  const dsts = Array.from({ length: receivers }, (_, i) => join(dir, `dst${i + 1}`));
  for (const dst of dsts) await mkdir(dst);
  return { src: join(dir, 'src'), dsts, content };
}

function sendCount(src: string, count: number, relay = world.relay.url, extra: string[] = []): Proc {
  return runPortunus(['send', '--json', '--count', String(count), ...extra, '--relay', relay, 'data.bin'], {
    cwd: src,
  });
}

function receive(dst: string, code: string, relay = world.relay.url, extra: string[] = []): Proc {
  return runPortunus(['receive', '--json', '--yes', ...extra, '--relay', relay, code], { cwd: dst });
}

/**
 * Resolves once each of `receivers` (a receive process: [undefined]) has had its transfer completed or has seen its
 * second reconnect attempt (the first refused): nothing is left that has not noticed the outage.
 */
async function outageSeen(p: Proc, receivers: unknown[]): Promise<void> {
  const settled = (r: unknown) =>
    p
      .events()
      .some((e) => e.receiver === r && (e.event === 'done' || (e.event === 'reconnecting' && Number(e.attempt) >= 2)));
  while (!receivers.every(settled)) {
    if (p.child.exitCode !== null) {
      if (p.child.exitCode === 0) return;
      throw new Error(`exited: ${p.stdout()} ${p.stderr()}`.slice(-3000));
    }
    await Promise.race([p.exited, new Promise((resolve) => p.child.stdout!.once('data', resolve))]);
  }
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

  it(
    'a network outage mid-transfer: every seat cut reconnects on its own (PROTOCOL.md §2.13), both receivers complete',
    async () => {
      const size = 32 * 1024 * 1024;
      const { src, dsts, content } = await folders('count-outage', 2, size);
      // Every connection goes through a proxy that stops moving once the sender has sent a little more than one
      // file's worth: both receivers confirmed and began (one transfer alone cannot get there), and one at least is
      // not done. Then it cuts them all, and refuses new ones until everything has noticed.
      const proxy = await TcpProxy.start(Number(new URL(world.relay.url).port), { freezeAfter: size + 1024 * 1024 });
      try {
        const through = `ws://127.0.0.1:${proxy.port}`;
        const relayOnly = ['--transport', 'relay'];
        const sender = sendCount(src, 2, through, relayOnly);
        const code = String((await sender.waitEvent('code')).code);
        const receivers = dsts.map((dst) => receive(dst, code, through, relayOnly));
        await proxy.frozen;
        proxy.sever();
        await Promise.all([outageSeen(sender, [1, 2]), ...receivers.map((r) => outageSeen(r, [undefined]))]);
        proxy.heal();
        const codes = await Promise.all([sender, ...receivers].map((p) => exitOf(p, TRANSFER_MS)));
        // What each said, should one fail (seen once in a suite run with a core kept busy: the sender and the first
        // receiver exited 7 after ~30 s).
        const said = [sender, ...receivers].map((p) => p.stdout() + p.stderr()).join('\n---\n');
        expect(codes, said).toEqual([0, 0, 0]);
        for (const dst of dsts) expect(sha256(await readFile(join(dst, 'data.bin')))).toBe(sha256(content));
        const reconnected = sender.events().filter((e) => e.event === 'reconnected');
        expect(reconnected.length).toBeGreaterThanOrEqual(1);
        expect(sender.events().at(-1)).toEqual({ event: 'served', completed: 2, failed: 0 });
      } finally {
        await proxy.close();
      }
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
