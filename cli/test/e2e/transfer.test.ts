/**
 * End to end: real `portunus relay`, `send` and `receive` processes on 127.0.0.1, as a user would run them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, type Proc, useRelayWorld } from './harness.js';

const world = useRelayWorld({ beforeAll, afterAll });

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function dir(name: string): Promise<string> {
  const p = join(world.tmp, name);
  await mkdir(p, { recursive: true });
  return p;
}

// This file exercises the relay path; the direct path has its own e2e file (webrtc.test.ts).
function startSend(args: string[], opts: { cwd?: string; stdin?: Buffer; env?: Record<string, string> } = {}): Proc {
  return runPortunus(['send', '--json', '--transport', 'relay', '--relay', world.relay.url, ...args], opts);
}

async function codeOf(sender: Proc): Promise<string> {
  return String((await sender.waitEvent('code')).code);
}

function startReceive(code: string, args: string[], cwd: string): Proc {
  return runPortunus(
    ['receive', '--json', '--yes', '--transport', 'relay', '--relay', world.relay.url, code, ...args],
    { cwd },
  );
}

/** Everything under a folder, as relative paths (sorted), for "nothing else was written" checks. */
async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string) {
    for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      out.push(e.isDirectory() ? p + '/' : p);
      if (e.isDirectory()) await walk(p);
    }
  }
  await walk('');
  return out.sort();
}

async function transferFile(content: Buffer, name: string) {
  const src = await dir(`src-${name}`);
  const dst = await dir(`dst-${name}`);
  await writeFile(join(src, name), content);
  const sender = startSend([name], { cwd: src });
  const receiver = startReceive(await codeOf(sender), [], dst);
  const [sc, rc] = await Promise.all([exitOf(sender), exitOf(receiver)]);
  return { sender, receiver, sc, rc, dst };
}

describe('files', () => {
  it('sends a 0-byte file', async () => {
    const { receiver, sc, rc, dst } = await transferFile(Buffer.alloc(0), 'empty.bin');
    expect([sc, rc]).toEqual([0, 0]);
    expect((await stat(join(dst, 'empty.bin'))).size).toBe(0);
    const done = receiver.events().find((e) => e.event === 'done')!;
    expect(done).toMatchObject({ bytes: 0, sha256: sha256(Buffer.alloc(0)), transport: 'relay' });
  });

  it('sends a 50 MB random file intact, reporting progress and the SHA-256 on both sides', async () => {
    const content = randomBytes(50 * 1000 * 1000);
    const { sender, receiver, sc, rc, dst } = await transferFile(content, 'big.bin');
    expect([sc, rc]).toEqual([0, 0]);
    const got = await readFile(join(dst, 'big.bin'));
    expect(got.length).toBe(content.length);
    expect(sha256(got)).toBe(sha256(content));
    for (const p of [sender, receiver]) {
      expect(p.events().find((e) => e.event === 'done')).toMatchObject({
        bytes: content.length,
        sha256: sha256(content),
      });
      expect(p.events().find((e) => e.event === 'connected')).toEqual({ event: 'connected', transport: 'relay' });
    }
    expect(receiver.events().some((e) => e.event === 'progress')).toBe(true);
    expect(await listTree(dst)).toEqual(['big.bin']);
  });

  it('sends a folder: nested, empty folders, unicode and space names, executable bits', async () => {
    const src = await dir('src-folder');
    const root = join(src, 'my stuff');
    await mkdir(join(root, 'a/b/c'), { recursive: true });
    await mkdir(join(root, 'empty dir'), { recursive: true });
    await writeFile(join(root, 'a/b/c/deep.txt'), 'deep');
    await writeFile(join(root, 'résumé ünïcødé 日本.txt'), 'unicode');
    await writeFile(join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(join(root, 'run.sh'), 0o755);
    await writeFile(join(root, 'a/data.bin'), randomBytes(300_000));
    const dst = await dir('dst-folder');
    const sender = startSend(['my stuff'], { cwd: src });
    const receiver = startReceive(await codeOf(sender), [], dst);
    expect([await exitOf(sender), await exitOf(receiver)]).toEqual([0, 0]);
    const offer = receiver.events().find((e) => e.event === 'offer')!;
    expect(offer).toMatchObject({ kind: 'folder', name: 'my stuff', files: 4 });
    expect(await listTree(join(dst, 'my stuff'))).toEqual(await listTree(root));
    expect(await readFile(join(dst, 'my stuff/a/b/c/deep.txt'), 'utf8')).toBe('deep');
    expect(await readFile(join(dst, 'my stuff/résumé ünïcødé 日本.txt'), 'utf8')).toBe('unicode');
    expect((await stat(join(dst, 'my stuff/run.sh'))).mode & 0o111).toBe(0o111);
    expect(sha256(await readFile(join(dst, 'my stuff/a/data.bin')))).toBe(
      sha256(await readFile(join(root, 'a/data.bin'))),
    );
  });

  it('pipes stdin to stdout', async () => {
    const content = randomBytes(3_000_000);
    const sender = startSend(['-', '--name', 'piped.bin'], { stdin: content });
    const code = await codeOf(sender);
    const receiver = runPortunus(
      ['receive', '--json', '--yes', '--transport', 'relay', '--relay', world.relay.url, code, '-o', '-'],
      { cwd: world.tmp },
    );
    expect([await exitOf(sender), await exitOf(receiver)], sender.stdout() + receiver.stderr()).toEqual([0, 0]);
    // With data on stdout, the JSON events move to stderr.
    expect(receiver.events('stderr').find((e) => e.event === 'offer')).toMatchObject({
      kind: 'stream',
      name: 'piped.bin',
    });
    expect(sha256(receiver.stdoutBytes())).toBe(sha256(content));
  });

  it('sends a text message', async () => {
    const sender = startSend(['--text', 'the wifi password is hunter2']);
    const receiver = startReceive(await codeOf(sender), [], world.tmp);
    expect([await exitOf(sender), await exitOf(receiver)]).toEqual([0, 0]);
    expect(receiver.events().find((e) => e.event === 'done')).toMatchObject({ text: 'the wifi password is hunter2' });
  });
});

describe('CI hand-off', () => {
  it('a pre-agreed code from PORTUNUS_CODE, receiver started first, no arguments carrying the code', async () => {
    const src = await dir('src-ci');
    const dst = await dir('dst-ci');
    const content = randomBytes(1_000_000);
    await writeFile(join(src, 'artifact.tgz'), content);
    const env = { PORTUNUS_CODE: '42-7QK-P3M-X9D', PORTUNUS_RELAY: world.relay.url };
    const receiver = runPortunus(['receive', '--json', '--yes', '--transport', 'relay', '-o', 'artifact.tgz'], {
      cwd: dst,
      env,
    });
    await receiver.waitEvent('waiting');
    const sender = runPortunus(['send', '--json', '--transport', 'relay', 'artifact.tgz'], { cwd: src, env });
    expect([await exitOf(sender), await exitOf(receiver)]).toEqual([0, 0]);
    expect(sha256(await readFile(join(dst, 'artifact.tgz')))).toBe(sha256(content));
    // The code came from the environment, so there is nothing to warn about.
    expect(sender.events().some((e) => e.event === 'warning')).toBe(false);
  });
});

describe('failures', () => {
  it('a wrong code fails both sides with exit 3 and writes nothing', async () => {
    const src = await dir('src-wrong');
    const dst = await dir('dst-wrong');
    await writeFile(join(src, 'secret.txt'), 'top secret');
    const sender = startSend(['secret.txt'], { cwd: src });
    const code = await codeOf(sender);
    const wrong = code.slice(0, -1) + (code.endsWith('A') ? 'B' : 'A');
    const receiver = startReceive(wrong, [], dst);
    expect([await exitOf(sender), await exitOf(receiver)]).toEqual([3, 3]);
    expect(receiver.events().find((e) => e.event === 'error')).toMatchObject({ exit: 3 });
    expect(receiver.events().some((e) => e.event === 'offer')).toBe(false);
    expect(await listTree(dst)).toEqual([]);
  });

  it('an existing target without --overwrite: receiver exit 8, sender exit 4, target untouched', async () => {
    const src = await dir('src-exists');
    const dst = await dir('dst-exists');
    await writeFile(join(src, 'report.txt'), 'new content');
    await writeFile(join(dst, 'report.txt'), 'precious');
    const sender = startSend(['report.txt'], { cwd: src });
    const receiver = startReceive(await codeOf(sender), [], dst);
    expect([await exitOf(sender), await exitOf(receiver)]).toEqual([4, 8]);
    expect(await readFile(join(dst, 'report.txt'), 'utf8')).toBe('precious');
    expect(await listTree(dst)).toEqual(['report.txt']);
    expect(receiver.events().find((e) => e.event === 'error')).toMatchObject({ error: 'FILE_EXISTS' });
  });

  it('--overwrite replaces an existing file', async () => {
    const src = await dir('src-over');
    const dst = await dir('dst-over');
    await writeFile(join(src, 'report.txt'), 'new content');
    await writeFile(join(dst, 'report.txt'), 'old');
    const sender = startSend(['report.txt'], { cwd: src });
    const receiver = startReceive(await codeOf(sender), ['--overwrite'], dst);
    expect([await exitOf(sender), await exitOf(receiver)]).toEqual([0, 0]);
    expect(await readFile(join(dst, 'report.txt'), 'utf8')).toBe('new content');
  });

  it('killing the sender mid-transfer: receiver exit 7, nothing under the name, only the partial kept to resume', async () => {
    const src = await dir('src-kill');
    const dst = await dir('dst-kill');
    await writeFile(join(src, 'big.bin'), randomBytes(200 * 1000 * 1000));
    const sender = startSend(['big.bin', '--chunk-size', '65536'], { cwd: src });
    const receiver = startReceive(await codeOf(sender), [], dst);
    await receiver.waitEvent('progress', { timeoutMs: 30_000 });
    sender.child.kill('SIGKILL');
    expect(await exitOf(receiver)).toBe(7);
    // PROTOCOL.md §4.12: the hidden partial and its state, for the next run of the same commands.
    expect((await listTree(dst)).map((n) => n.replace(/portunus-.*\./, 'portunus-….')).sort()).toEqual([
      '.big.bin.portunus-….part',
      '.big.bin.portunus-….resume',
    ]);
  });

  it('Ctrl-C on the receiver mid-transfer: it exits 130 with nothing left, and the sender is told (exit 4)', async () => {
    const src = await dir('src-sigint');
    const dst = await dir('dst-sigint');
    await writeFile(join(src, 'big.bin'), randomBytes(200 * 1000 * 1000));
    const sender = startSend(['big.bin', '--chunk-size', '65536'], { cwd: src });
    const receiver = startReceive(await codeOf(sender), [], dst);
    await receiver.waitEvent('progress', { timeoutMs: 30_000 });
    receiver.child.kill('SIGINT');
    expect(await exitOf(receiver)).toBe(130);
    expect(await exitOf(sender)).toBe(4);
    expect(sender.events().find((e) => e.event === 'error')).toMatchObject({ error: 'CANCELLED' });
    expect(await listTree(dst)).toEqual([]);
  });

  it('an unreadable file fails with exit 8 before any code is requested', async () => {
    const sender = startSend(['does-not-exist.bin'], { cwd: world.tmp });
    expect(await exitOf(sender)).toBe(8);
    expect(sender.events().some((e) => e.event === 'code')).toBe(false);
    expect(sender.events().find((e) => e.event === 'error')).toMatchObject({ error: 'FILE_ERROR', exit: 8 });
  });

  it('a receiver with no terminal and no --yes exits 2 at once instead of hanging', async () => {
    const receiver = runPortunus(['receive', '--relay', world.relay.url, '7-H7K-29A'], { cwd: world.tmp });
    expect(await exitOf(receiver)).toBe(2);
    expect(receiver.stderr()).toMatch(/--yes/);
  });

  it('nobody comes: the sender gives up after --timeout with exit 5', async () => {
    const sender = startSend(['--text', 'anyone?', '--timeout', '1']);
    expect(await exitOf(sender)).toBe(5);
    expect(sender.events().find((e) => e.event === 'error')).toMatchObject({ error: 'TIMEOUT', exit: 5 });
  });

  it('a disk that fills up while receiving: exit 8, partial removed', async (ctx) => {
    const mnt = await dir('small-disk');
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    if (mounted.status !== 0) {
      console.log(`skipping disk-full test: cannot mount a tmpfs (${mounted.stderr?.toString().trim() || 'not root'})`);
      ctx.skip();
    }
    try {
      // A stream: an offer with a size that cannot fit is refused before any data (cli/test/files/receive-e2e.test.ts).
      const sender = startSend(['-', '--name', 'big.bin'], { stdin: randomBytes(4_000_000) });
      const receiver = startReceive(await codeOf(sender), [], mnt);
      expect(await exitOf(receiver)).toBe(8);
      expect(receiver.events().find((e) => e.event === 'error')).toMatchObject({ error: 'DISK_FULL' });
      expect(await exitOf(sender)).toBe(7);
      expect(await listTree(mnt)).toEqual([]);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('a malformed code is a usage error (exit 2) naming the problem', async () => {
    const receiver = runPortunus(['receive', '--yes', '--relay', world.relay.url, '7-H7K-29U']);
    expect(await exitOf(receiver)).toBe(2);
    expect(receiver.stderr()).toMatch(/'U'/);
  });
});
