/**
 * The receiver's file checks end to end: real `portunus relay`, `send` and `receive` processes on 127.0.0.1.
 * A receiver's mistake must not waste the sender's code, its local paths stay its own, names land the same way
 * on every platform, and the leftovers of a killed receiver are swept by the next one.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, type Proc, useRelayWorld } from '../e2e/harness.js';

const world = useRelayWorld({ beforeAll, afterAll });

async function dir(name: string): Promise<string> {
  const path = join(world.tmp, name);
  await mkdir(path, { recursive: true });
  return path;
}

function startSend(args: string[], opts: { cwd?: string; stdin?: Buffer | 'pipe' } = {}): Proc {
  return runPortunus(['send', '--json', '--transport', 'relay', '--relay', world.relay.url, ...args], opts);
}

async function codeOf(sender: Proc): Promise<string> {
  return String((await sender.waitEvent('code')).code);
}

function startReceive(code: string, args: string[], cwd: string, json = true): Proc {
  return runPortunus(
    [
      'receive',
      ...(json ? ['--json'] : []),
      '--yes',
      '--transport',
      'relay',
      '--relay',
      world.relay.url,
      code,
      ...args,
    ],
    { cwd },
  );
}

const errorOf = (p: Proc) => p.events().find((e) => e.event === 'error');
const named = (p: Proc, event: string) => p.events().filter((e) => e.event === event);

/** Mounts a small tmpfs for the test (tests run as root); skips the test where that is impossible. */
async function smallDisk(name: string, size: string, skip: () => void): Promise<{ path: string; unmount: () => void }> {
  const path = await dir(name);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path]);
  if (mounted.status !== 0) {
    console.log(`skipped: cannot mount a tmpfs (${mounted.stderr?.toString().trim() || 'not root'})`);
    skip();
  }
  return { path, unmount: () => void spawnSync('umount', [path]) };
}

describe("a receiver's mistake does not waste the sender's code", () => {
  it('a missing -o folder, or an -o file that exists: exit 8 before connecting; the same code then works', async () => {
    const src = await dir('src-precheck');
    const dst = await dir('dst-precheck');
    await writeFile(join(src, 'report.txt'), 'the report');
    await writeFile(join(dst, 'old.txt'), 'precious');
    const sender = startSend(['report.txt'], { cwd: src });
    const code = await codeOf(sender);

    const missing = startReceive(code, ['-o', 'newdir/'], dst);
    expect(await exitOf(missing)).toBe(8);
    expect(errorOf(missing)).toMatchObject({
      error: 'FILE_ERROR',
      exit: 8,
      hint: expect.stringContaining('Create it first'),
    });
    const existing = startReceive(code, ['-o', 'old.txt'], dst);
    expect(await exitOf(existing)).toBe(8);
    expect(errorOf(existing)).toMatchObject({ error: 'FILE_EXISTS', hint: expect.stringMatching(/--overwrite.*-o/) });
    for (const failed of [missing, existing]) {
      expect(named(failed, 'waiting')).toEqual([]);
      expect(named(failed, 'confirmed')).toEqual([]);
    }

    const good = startReceive(code, ['-o', 'new.txt'], dst);
    expect([await exitOf(sender), await exitOf(good)]).toEqual([0, 0]);
    expect(await readFile(join(dst, 'new.txt'), 'utf8')).toBe('the report');
    expect(await readFile(join(dst, 'old.txt'), 'utf8')).toBe('precious');
  });

  it('not enough free space: DISK_FULL before any data, and the sender is told why (exit 4)', async (ctx) => {
    const disk = await smallDisk('disk-precheck', '2m', () => ctx.skip());
    try {
      const src = await dir('src-space');
      await writeFile(join(src, 'big.bin'), Buffer.alloc(4_000_000, 7));
      const sender = startSend(['big.bin'], { cwd: src });
      const receiver = startReceive(await codeOf(sender), [], disk.path);
      expect([await exitOf(sender), await exitOf(receiver)]).toEqual([4, 8]);
      expect(errorOf(receiver)).toMatchObject({
        error: 'DISK_FULL',
        message: expect.stringMatching(/needed, .* free/),
      });
      expect(errorOf(sender)).toMatchObject({ error: 'REJECTED', message: expect.stringContaining('disk is full') });
      for (const side of [sender, receiver]) {
        expect(named(side, 'connected')).toEqual([]);
        expect(named(side, 'progress')).toEqual([]);
      }
      expect(await readdir(disk.path)).toEqual([]);
    } finally {
      disk.unmount();
    }
  });

  it('an existing target is refused before any data, the hint naming --overwrite and -o', async () => {
    const src = await dir('src-exists');
    const dst = await dir('dst-exists');
    await writeFile(join(src, 'report.txt'), 'new');
    await writeFile(join(dst, 'report.txt'), 'precious');
    const sender = startSend(['report.txt'], { cwd: src });
    const receiver = startReceive(await codeOf(sender), [], dst, false);
    expect([await exitOf(sender), await exitOf(receiver)]).toEqual([4, 8]);
    expect(receiver.stderr()).toMatch(/--overwrite.*-o/);
    expect(errorOf(sender)).toMatchObject({ hint: expect.stringMatching(/--overwrite.*-o/) });
    expect(named(sender, 'connected')).toEqual([]);
    expect(await readFile(join(dst, 'report.txt'), 'utf8')).toBe('precious');
  });
});

describe("the receiver's local paths stay its own", () => {
  it('a disk that fills while receiving: the receiver names its path, the sender only the code', async (ctx) => {
    const disk = await smallDisk('disk-leak', '1m', () => ctx.skip());
    try {
      // A stream has no size to check up front, so the disk fills while the data arrives.
      const sender = startSend(['-', '--name', 'big.bin'], { stdin: Buffer.alloc(4_000_000, 3) });
      const receiver = startReceive(await codeOf(sender), [], disk.path);
      expect([await exitOf(sender), await exitOf(receiver)]).toEqual([7, 8]);
      expect(errorOf(receiver)).toMatchObject({ error: 'DISK_FULL', message: expect.stringContaining(disk.path) });
      const told = errorOf(sender)!;
      expect(told).toMatchObject({ error: 'PEER_FAILED', message: expect.stringContaining('DISK_FULL') });
      expect(String(told.message)).not.toContain(world.tmp);
      expect(sender.stderr() + sender.stdout()).not.toContain(disk.path);
      expect(await readdir(disk.path)).toEqual([]);
    } finally {
      disk.unmount();
    }
  });
});

describe('names Windows cannot create: one rule everywhere', () => {
  it('a folder holding such names lands without them, the sender saying why for each', async () => {
    const src = await dir('src-names');
    const dst = await dir('dst-names');
    const root = join(src, 'proj');
    await mkdir(join(root, 'CON'), { recursive: true });
    await mkdir(join(root, 'sub'), { recursive: true });
    const files = [
      'aux.c',
      'notes: draft.txt',
      'why?.pdf',
      'trailing.',
      'CON/inner.txt',
      'sub/nul.tar.gz',
      'ok.txt',
      'sub/fine.txt',
    ];
    for (const f of files) await writeFile(join(root, f), f);
    const sender = startSend(['proj'], { cwd: src });
    const receiver = startReceive(await codeOf(sender), [], dst);
    expect([await exitOf(sender), await exitOf(receiver)]).toEqual([0, 0]);
    const warnings = named(sender, 'warning').map((w) => String(w.message));
    expect(warnings).toHaveLength(6);
    expect(warnings.join('\n')).toMatch(/aux\.c.*AUX is a device name on Windows/);
    expect(warnings.join('\n')).toMatch(/CON.*CON is a device name on Windows/);
    const got = (await readdir(join(dst, 'proj'), { recursive: true })).map(String).sort();
    expect(got).toEqual(['ok.txt', 'sub', 'sub/fine.txt']);
  });

  it('a file with such a name is refused before any code exists', async () => {
    const src = await dir('src-name-file');
    await writeFile(join(src, 'aux.c'), 'int main;');
    const sender = startSend(['aux.c'], { cwd: src });
    expect(await exitOf(sender)).toBe(8);
    expect(named(sender, 'code')).toEqual([]);
    expect(errorOf(sender)).toMatchObject({
      error: 'FILE_ERROR',
      message: expect.stringContaining('device name on Windows'),
    });
  });
});

describe('leftovers of a killed receiver are swept by the next receive into the same folder', () => {
  /** A stream sender fed by the test, and a receiver killable once its .part holds data. */
  async function receiving(dst: string, name: string): Promise<{ sender: Proc; receiver: Proc; part: string }> {
    const sender = startSend(['-', '--name', name, '--chunk-size', '65536'], { stdin: 'pipe' });
    sender.child.stdin!.write(Buffer.alloc(1_000_000, 1));
    const receiver = startReceive(await codeOf(sender), [], dst);
    await receiver.waitEvent('progress');
    const part = (await readdir(dst)).find(
      (f) => f.startsWith(`.${name}.portunus-`) && f.includes(`-${receiver.child.pid}-`),
    );
    expect(part).toBeDefined();
    return { sender, receiver, part: part! };
  }

  async function kill9(p: Proc): Promise<void> {
    p.child.kill('SIGKILL');
    await p.exited;
  }

  async function receiveSmall(dst: string, name: string, json: boolean): Promise<Proc> {
    const src = await dir(`src-${name}`);
    await writeFile(join(src, name), name);
    const sender = startSend([name], { cwd: src });
    const receiver = startReceive(await codeOf(sender), [], dst, json);
    expect([await exitOf(sender), await exitOf(receiver)]).toEqual([0, 0]);
    return receiver;
  }

  it('kill -9 mid-transfer leaves a .part; the next receive removes and reports it, leaving a live one alone', async () => {
    const dst = await dir('dst-sweep');
    const killed = await receiving(dst, 'first.bin');
    // Started while the first one still runs, so its own sweep leaves the first one's .part alone.
    const live = await receiving(dst, 'second.bin');
    await kill9(killed.receiver);
    const stale = join(dst, killed.part);
    expect((await stat(stale)).size).toBeGreaterThan(0);

    const third = await receiveSmall(dst, 'third.txt', true);
    expect(named(third, 'swept')).toEqual([
      { event: 'swept', path: stale, kind: 'file', bytes: expect.any(Number), pid: killed.receiver.child.pid },
    ]);
    expect((await readdir(dst)).sort()).toEqual([live.part, 'third.txt'].sort());

    await kill9(live.receiver);
    const fourth = await receiveSmall(dst, 'fourth.txt', false);
    expect(fourth.stderr()).toContain(`Removed the partial file "${join(dst, live.part)}"`);
    expect(fourth.stderr()).toContain(`process ${live.receiver.child.pid}, no longer running`);
    expect((await readdir(dst)).sort()).toEqual(['fourth.txt', 'third.txt']);

    for (const { sender } of [killed, live]) await kill9(sender);
  });
});
