/**
 * A WebRTC path that dies mid-transfer is dialled again (PROTOCOL.md §6.4 "Attempts"), end to end: real `portunus
 * relay`, `send` and `receive` processes with `--transport webrtc` on both sides, in a network namespace the test
 * creates (as switch.test.ts does). The harness alone breaks the first path: it drops every UDP packet once data
 * flows, until the sender says it found the path dead and dials again; the sender reads standard input, so the data
 * moves only when the test writes it, whatever the machine's speed. Every wait is on process output or exit.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enginePairs } from '../transport/engines.js';
import { exitOf, runPortunus, startRelayProcess, useRelayWorld, type Proc } from './harness.js';
import { labSkipReason } from '../../../test/lab/lan.js';

const world = useRelayWorld({ beforeAll, afterAll });
const PART = 4 * 1000 * 1000;
const STALL_S = 8;
/**
 * libdatachannel on both sides where it loads (the engine of usrsctp issue #750's wedge), else werift: the redial is
 * the same client code for every engine (paths.ts), and one run of this lab test is enough to keep CI short (werift's
 * run takes twice as long: its close waits out 2 s twice on a dead path, and its ICE checks retry slowly).
 */
const PAIRS = (await enginePairs('redialling libdatachannel')).filter((p) => p.send === p.receive).slice(-1);
const noLab = labSkipReason();

/** Resolves once `read()` matches `re` (event-driven on the process's output; no sleeping). */
async function untilText(p: Proc, read: () => string, re: RegExp, what: string): Promise<void> {
  for (;;) {
    if (re.test(read())) return;
    if (p.child.exitCode !== null) throw new Error(`exited before ${what}: ${p.stdout()} ${p.stderr()}`.slice(-3000));
    await Promise.race([
      p.exited,
      new Promise((resolve) => p.child.stdout!.once('data', resolve)),
      new Promise((resolve) => p.child.stderr!.once('data', resolve)),
    ]);
  }
}

describe.each(PAIRS)('a WebRTC path lost mid-transfer is dialled again, $send → $receive', (engines) => {
  it.skipIf(noLab !== undefined)(
    '--transport webrtc alone: UDP dropped after the first data, the rest arrives over a second WebRTC path',
    async () => {
      const ns = `ptd${randomBytes(3).toString('hex')}`;
      const inNs = (argv: string[]) => spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8' });
      spawnSync('ip', ['netns', 'add', ns]);
      try {
        inNs(['ip', 'link', 'set', 'lo', 'up']);
        // libdatachannel gathers no loopback candidates: a veth pair inside the namespace gives it an address.
        inNs(['ip', 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
        for (const [dev, address] of [
          ['v0', '198.18.8.1/24'],
          ['v1', '198.18.8.2/24'],
        ]) {
          inNs(['ip', 'addr', 'add', address!, 'dev', dev!]);
          inNs(['ip', 'link', 'set', dev!, 'up']);
        }
        const prefix = ['ip', 'netns', 'exec', ns];
        const relay = await startRelayProcess([], { prefix });
        const dst = join(world.tmp, `redial-${engines.send}`);
        await mkdir(dst, { recursive: true });
        const common = ['--relay', relay.url, '--transport', 'webrtc'];
        // The sender finds the path dead after half its stall timeout; then it closes it (werift waits up to 2 s
        // each for a channel and a connection that can no longer answer) and dials again. The receiver's own stall
        // timeout is long, so no race between the two sides' clocks decides the outcome on a busy machine.
        const stall = (s: number) => ['--stall-timeout', String(s)];
        const code = `${100 + Math.floor(Math.random() * 800)}-H7K-29A`;
        // The sender in plain --verbose mode: its debug lines say when it dials again (--json has none).
        const sender = runPortunus(['send', ...common, ...stall(STALL_S), '--verbose', '-', '--name', 'data.bin'], {
          stdin: 'pipe',
          env: { PORTUNUS_CODE: code, PORTUNUS_WEBRTC_ENGINE: engines.send },
          prefix,
        });
        const receiver = runPortunus(['receive', ...common, ...stall(4 * STALL_S), '--json', '--yes', code], {
          cwd: dst,
          env: { PORTUNUS_WEBRTC_ENGINE: engines.receive },
          prefix,
        });
        sender.child.stdin!.on('error', () => undefined); // a sender that failed early is reported below
        const parts = [randomBytes(PART), randomBytes(PART), randomBytes(PART)];
        sender.child.stdin!.write(parts[0]);
        await receiver.waitEvent('connected', { timeoutMs: 60_000 });
        expect(inNs(['iptables', '-I', 'INPUT', '-p', 'udp', '-j', 'DROP']).status).toBe(0);
        // In flight on a path that delivers nothing: the stall rule finds it dead after half the stall timeout.
        sender.child.stdin!.write(parts[1]);
        await untilText(sender, sender.stderr, /dialling again \(attempt 2 of 3\)/, 'the sender dials again');
        expect(inNs(['iptables', '-D', 'INPUT', '-p', 'udp', '-j', 'DROP']).status).toBe(0);
        sender.child.stdin!.end(parts[2]);
        const [sc, rc] = await Promise.all([exitOf(sender, 120_000), exitOf(receiver, 120_000)]);
        expect([sc, rc], receiver.stderr() + receiver.stdout() + sender.stderr()).toEqual([0, 0]);
        const digest = createHash('sha256').update(Buffer.concat(parts)).digest('hex');
        expect(
          createHash('sha256')
            .update(await readFile(join(dst, 'data.bin')))
            .digest('hex'),
        ).toBe(digest);
        expect(receiver.events().find((e) => e.event === 'done')).toMatchObject({
          bytes: 3 * PART,
          sha256: digest,
          transport: 'webrtc',
        });
        expect(receiver.events().filter((e) => e.event === 'transport')).toMatchObject([
          { from: 'webrtc', to: 'webrtc' },
        ]);
        expect(sender.stderr()).toMatch(/Connected again \(webrtc\) after .* \(the path carrying the data was lost\)/);
        await relay.stop();
      } finally {
        for (const pid of spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
          .stdout.split('\n')
          .filter(Boolean))
          spawnSync('kill', ['-9', pid]);
        spawnSync('ip', ['netns', 'del', ns]);
      }
    },
    180_000,
  );
});
