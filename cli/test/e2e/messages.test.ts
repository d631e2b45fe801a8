/**
 * What each side is told when a transfer is cancelled or declined: real relay, real send and receive processes;
 * SIGINT is what Ctrl-C delivers. Each side must say what happened from its own point of view.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/ui/format.js';
import { exitOf, runPortunus, useRelayWorld, type Proc } from './harness.js';
import { hasScript, runInPty } from './pty.js';

const world = useRelayWorld({ beforeAll, afterAll });

let nameplate = 300;
let dirs = 0;

/** A pre-agreed code, so both sides can start with it (and human output need not be parsed for it). */
function freshCode(): string {
  return `${nameplate++}-H7K-29A-X9D`;
}

async function emptyDir(): Promise<string> {
  const path = join(world.tmp, `dst-${dirs++}`);
  await mkdir(path, { recursive: true });
  return path;
}

/** A sender of standard input that has 3 MiB to send (more than one frame: the last is held back) and keeps the stream open. */
function streamingSender(code: string, json: boolean): Proc {
  const sender = runPortunus(
    [
      'send',
      ...(json ? ['--json'] : []),
      '--transport',
      'relay',
      '--relay',
      world.relay.url,
      '-',
      '--name',
      'stream.bin',
    ],
    {
      stdin: 'pipe',
      env: { PORTUNUS_CODE: code },
    },
  );
  // The sender exits before it has read all of it (that is the point): the pipe's EPIPE is expected.
  sender.child.stdin!.on('error', () => undefined);
  sender.child.stdin!.write(Buffer.alloc(3 * 1024 * 1024, 7));
  return sender;
}

function receiver(code: string, json: boolean, cwd: string): Proc {
  return runPortunus(
    [
      'receive',
      ...(json ? ['--json'] : []),
      '--yes',
      '--transport',
      'relay',
      '--relay',
      world.relay.url,
      '-o',
      'got.bin',
      code,
    ],
    { cwd },
  );
}

/** The last two lines of stderr: `portunus: message` and `  hint: hint`. */
function errorLines(p: Proc): { message: string; hint: string } {
  const m = /portunus: (.+)\n {2}hint: (.+)\n$/.exec(p.stderr());
  expect(m, `stderr: ${p.stderr()}`).not.toBeNull();
  return { message: m![1]!, hint: m![2]! };
}

const errorEvent = (p: Proc, stream: 'stdout' | 'stderr' = 'stdout') =>
  p.events(stream).find((e) => e.event === 'error');

describe('Ctrl-C', () => {
  it('on the sender mid-transfer: it says it cancelled (exit 130); the receiver says the other side cancelled (exit 4)', async () => {
    const code = freshCode();
    const dst = await emptyDir();
    const sender = streamingSender(code, false);
    const recv = receiver(code, true, dst);
    await recv.waitEvent('progress', { timeoutMs: 30_000 });
    sender.child.kill('SIGINT');
    expect(await exitOf(sender)).toBe(130);
    expect(errorLines(sender)).toEqual({
      message: 'cancelled on this side',
      hint: 'Nothing more was sent, and the receiver keeps nothing of it.',
    });
    expect(await exitOf(recv)).toBe(4);
    expect(errorEvent(recv)).toEqual({
      event: 'error',
      error: 'CANCELLED',
      message: 'the other side cancelled the transfer',
      hint: expect.stringMatching(/^Nothing partial was kept/),
      exit: 4,
    });
    expect(await readdir(dst)).toEqual([]);
  });

  it('on the receiver mid-transfer: it says it cancelled and kept nothing (exit 130); the sender says the other side cancelled', async () => {
    const code = freshCode();
    const dst = await emptyDir();
    const sender = streamingSender(code, true);
    const recv = receiver(code, false, dst);
    await sender.waitEvent('progress', { timeoutMs: 30_000 });
    recv.child.kill('SIGINT');
    expect(await exitOf(recv)).toBe(130);
    expect(errorLines(recv)).toEqual({ message: 'cancelled on this side', hint: 'Nothing partial was kept.' });
    expect(recv.stderr()).not.toMatch(/other side/);
    expect(await exitOf(sender)).toBe(4);
    expect(errorEvent(sender)).toMatchObject({
      error: 'CANCELLED',
      message: 'the other side cancelled the transfer',
      exit: 4,
    });
    expect(await readdir(dst)).toEqual([]);
  });

  it('with --json, while waiting for the sender: a CANCELLED error event whose exit is the real one (130)', async () => {
    const recv = receiver(freshCode(), true, await emptyDir());
    await recv.waitEvent('waiting');
    recv.child.kill('SIGINT');
    expect(await exitOf(recv)).toBe(130);
    expect(errorEvent(recv)).toMatchObject({
      error: 'CANCELLED',
      message: 'cancelled on this side',
      hint: 'Nothing partial was kept.',
      exit: 130,
    });
  });
});

describe.skipIf(!hasScript)('declining at the prompt', () => {
  it('the receiver says it declined and nothing was received; the sender that the receiver declined', async () => {
    const code = freshCode();
    const src = await emptyDir();
    await writeFile(join(src, 'offered.txt'), 'no thanks');
    const sender = runPortunus(['send', '--json', '--relay', world.relay.url, 'offered.txt'], {
      cwd: src,
      env: { PORTUNUS_CODE: code },
    });
    await sender.waitEvent('code');
    const recv = runInPty(['receive', '--relay', world.relay.url, code], { cwd: await emptyDir() });
    await recv.waitFor(/Receive\? \[y\/N\]/);
    recv.type('n\r');
    expect(await recv.exit).toBe(4);
    expect(recv.output()).toMatch(/portunus: you declined the transfer\r?\n {2}hint: Nothing was received\./);
    expect(await exitOf(sender)).toBe(4);
    expect(errorEvent(sender)).toMatchObject({
      error: 'REJECTED',
      message: 'the receiver declined the transfer',
      hint: expect.stringMatching(/^Nothing was sent or kept/),
    });
  });
});

describe('the figures of a finished transfer', () => {
  it('a folder: the offer names both sizes; the summary counts the tar stream the sender counted, over the data phase', async () => {
    const src = await emptyDir();
    await mkdir(join(src, 'album'));
    for (const [name, size] of [
      ['a.jpg', 120_000],
      ['b.jpg', 90_000],
      ['c.txt', 1_000],
    ] as const)
      await writeFile(join(src, 'album', name), Buffer.alloc(size, 1));
    const code = freshCode();
    const sender = runPortunus(['send', '--json', '--relay', world.relay.url, 'album'], {
      cwd: src,
      env: { PORTUNUS_CODE: code },
    });
    await sender.waitEvent('code');
    const recv = runPortunus(['receive', '--yes', '--relay', world.relay.url, code], { cwd: await emptyDir() });
    expect([await exitOf(sender), await exitOf(recv)]).toEqual([0, 0]);
    const done = sender.events().find((e) => e.event === 'done')!;
    const tarBytes = Number(done.bytes);
    expect(tarBytes).toBeGreaterThan(211_000);
    expect(Number(done.dataSeconds)).toBeGreaterThan(0);
    expect(Number(done.dataSeconds)).toBeLessThanOrEqual(Number(done.seconds));
    expect(Number(done.bytesPerSecond)).toBeGreaterThan(0);
    const tar = formatBytes(tarBytes).replace('.', '\\.');
    expect(recv.stderr()).toMatch(
      new RegExp(`Offered: folder 'album' \\(3 files, 211 kB, sent as a ${tar} tar stream\\)`),
    );
    expect(recv.stderr()).toMatch(
      new RegExp(
        `Received ${tar} \\(a tar stream of 3 files, 211 kB\\) in \\S+ s \\(.+/s\\) via .+; \\S+ s in all, with the key exchange and the answer\\.`,
      ),
    );
  });
});

describe('the documented exit codes', () => {
  it('--help says what exit 4 and 130 mean', async () => {
    const help = runPortunus(['--help']);
    expect(await exitOf(help)).toBe(0);
    const text = help.stdout().replace(/\s+/g, ' ');
    expect(text).toMatch(/4 declined \(by you or the receiver\) or cancelled by the other side/);
    expect(text).toMatch(/130 cancelled here with Ctrl-C/);
  });
});
