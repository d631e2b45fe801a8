/**
 * Several paths in one send (`portunus send a.txt b.txt photos/`): real relay, send and receive processes. One
 * offer lists the entries; they land side by side; clashes are refused before any data, or renamed with --rename;
 * `done` carries each file's SHA-256 on both sides.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, TRANSFER_MS, useRelayWorld, type Proc } from './harness.js';

const world = useRelayWorld({ beforeAll, afterAll });

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function dir(name: string): Promise<string> {
  const p = join(world.tmp, name);
  await mkdir(p, { recursive: true });
  return p;
}

function startSend(args: string[], cwd: string): Proc {
  return runPortunus(['send', '--json', '--transport', 'relay', '--relay', world.relay.url, ...args], { cwd });
}

function startReceive(code: string, args: string[], cwd: string): Proc {
  return runPortunus(
    ['receive', '--json', '--yes', '--transport', 'relay', '--relay', world.relay.url, code, ...args],
    { cwd },
  );
}

async function run(sendArgs: string[], src: string, receiveArgs: string[], dst: string) {
  const sender = startSend(sendArgs, src);
  const code = String((await sender.waitEvent('code')).code);
  const receiver = startReceive(code, receiveArgs, dst);
  const [sc, rc] = await Promise.all([exitOf(sender, TRANSFER_MS), exitOf(receiver, TRANSFER_MS)]);
  return { sender, receiver, sc, rc };
}

/** Every file below `root` with its SHA-256, by '/'-joined relative path. */
async function digests(root: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) for (const [k, v] of await digests(root, p)) out.set(k, v);
    else out.set(p, sha256(await readFile(join(root, p))));
  }
  return out;
}

type Manifest = { name: string; bytes: number; sha256: string }[];

describe('several paths in one send', () => {
  it('1,000 files in 3 folders plus 2 loose files: every SHA-256 matches, and both done events list them', async () => {
    const src = await dir('many-src');
    for (const [f, folder] of ['alpha', 'beta', 'gamma'].entries()) {
      await mkdir(join(src, folder, 'inner'), { recursive: true });
      for (let i = 0; i < 333 + (f === 0 ? 1 : 0); i++) {
        const sub = i % 2 === 0 ? '' : 'inner';
        await writeFile(join(src, folder, sub, `f${i}.txt`), `${folder} ${i} ${'x'.repeat(i)}`);
      }
    }
    await writeFile(join(src, 'one.txt'), 'the first loose file\n');
    await writeFile(join(src, 'two.bin'), Buffer.alloc(70_000, 7));
    const dst = await dir('many-dst');
    const { sender, receiver, sc, rc } = await run(['one.txt', 'alpha', 'beta/', 'gamma', 'two.bin'], src, [], dst);
    expect([sc, rc], receiver.stderr()).toEqual([0, 0]);

    const offer = receiver.events().find((e) => e.event === 'offer')!;
    expect(offer).toMatchObject({
      kind: 'bundle',
      entries: [
        { name: 'one.txt', type: 'file' },
        { name: 'alpha', type: 'folder' },
        { name: 'beta', type: 'folder' },
        { name: 'gamma', type: 'folder' },
        { name: 'two.bin', type: 'file' },
      ],
      files: 1002,
    });
    const sent = await digests(src);
    expect(sent.size).toBe(1002);
    expect(await digests(dst)).toEqual(sent);
    for (const p of [sender, receiver]) {
      const done = p.events().find((e) => e.event === 'done')!;
      const files = done.files as Manifest;
      expect(new Map(files.map((f) => [f.name, f.sha256]))).toEqual(sent);
      expect(files.find((f) => f.name === 'two.bin')?.bytes).toBe(70_000);
    }
    expect(receiver.events().find((e) => e.event === 'done')).toMatchObject({
      path: dst,
      entries: expect.arrayContaining([{ name: 'alpha', path: join(dst, 'alpha') }]),
    });
  });

  it('refuses clashes with what exists before any data, naming the first; nothing is written', async () => {
    const src = await dir('clash-src');
    await mkdir(join(src, 'pics'));
    await writeFile(join(src, 'pics', 'p.jpg'), 'picture');
    await writeFile(join(src, 'a.txt'), 'new a');
    const dst = await dir('clash-dst');
    await writeFile(join(dst, 'a.txt'), 'old a');
    await mkdir(join(dst, 'pics'));
    const { sender, receiver, sc, rc } = await run(['a.txt', 'pics'], src, [], dst);
    expect([sc, rc]).toEqual([4, 8]);
    const error = receiver.events().find((e) => e.event === 'error')!;
    expect(error).toMatchObject({ error: 'FILE_EXISTS' });
    expect(String(error.message)).toMatch(/a\.txt.*it already exists \(and 1 more of the offered entries\)/);
    expect(String(error.hint)).toMatch(/--rename/);
    expect(sender.events().find((e) => e.event === 'error')).toMatchObject({ error: 'REJECTED' });
    expect(sender.events().some((e) => e.event === 'progress')).toBe(false);
    expect((await readdir(dst)).sort()).toEqual(['a.txt', 'pics']);
    expect(await readdir(join(dst, 'pics'))).toEqual([]);
    expect(await readFile(join(dst, 'a.txt'), 'utf8')).toBe('old a');
  });

  it('--rename keeps what exists and saves the newcomers as "a (1).txt" and "pics (1)"', async () => {
    const src = await dir('rename-src');
    await mkdir(join(src, 'pics'));
    await writeFile(join(src, 'pics', 'p.jpg'), 'picture');
    await writeFile(join(src, 'a.txt'), 'new a');
    await writeFile(join(src, 'b.tar.gz'), 'new b');
    const dst = await dir('rename-dst');
    await writeFile(join(dst, 'a.txt'), 'old a');
    await writeFile(join(dst, 'b.tar.gz'), 'old b');
    await mkdir(join(dst, 'pics'));
    const { receiver, sc, rc } = await run(['a.txt', 'pics', 'b.tar.gz'], src, ['--rename'], dst);
    expect([sc, rc], receiver.stderr()).toEqual([0, 0]);
    expect((await readdir(dst)).sort()).toEqual(['a (1).txt', 'a.txt', 'b (1).tar.gz', 'b.tar.gz', 'pics', 'pics (1)']);
    expect(await readFile(join(dst, 'a.txt'), 'utf8')).toBe('old a');
    expect(await readFile(join(dst, 'a (1).txt'), 'utf8')).toBe('new a');
    expect(await readFile(join(dst, 'b (1).tar.gz'), 'utf8')).toBe('new b');
    expect(await readFile(join(dst, 'pics (1)', 'p.jpg'), 'utf8')).toBe('picture');
    expect(receiver.events().find((e) => e.event === 'done')?.entries).toEqual([
      { name: 'a.txt', path: join(dst, 'a (1).txt') },
      { name: 'pics', path: join(dst, 'pics (1)') },
      { name: 'b.tar.gz', path: join(dst, 'b (1).tar.gz') },
    ]);
  });

  it('--overwrite replaces entries of the same kind', async () => {
    const src = await dir('over-src');
    await writeFile(join(src, 'a.txt'), 'new a');
    await writeFile(join(src, 'b.txt'), 'new b');
    const dst = await dir('over-dst');
    await writeFile(join(dst, 'a.txt'), 'old a');
    const { sc, rc } = await run(['a.txt', 'b.txt'], src, ['--overwrite'], dst);
    expect([sc, rc]).toEqual([0, 0]);
    expect(await readFile(join(dst, 'a.txt'), 'utf8')).toBe('new a');
    expect(await readFile(join(dst, 'b.txt'), 'utf8')).toBe('new b');
  });
});
