/**
 * The receiver's file checks end to end: real `portunus relay`, `send` and `receive` processes on 127.0.0.1.
 * Names land the same way on every platform.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, type Proc, useRelayWorld } from '../e2e/harness.js';

const world = useRelayWorld({ beforeAll, afterAll });

async function dir(name: string): Promise<string> {
  const path = join(world.tmp, name);
  await mkdir(path, { recursive: true });
  return path;
}

function startSend(args: string[], opts: { cwd?: string } = {}): Proc {
  return runPortunus(['send', '--json', '--transport', 'relay', '--relay', world.relay.url, ...args], opts);
}

async function codeOf(sender: Proc): Promise<string> {
  return String((await sender.waitEvent('code')).code);
}

function startReceive(code: string, args: string[], cwd: string): Proc {
  return runPortunus(['receive', '--json', '--yes', '--transport', 'relay', '--relay', world.relay.url, code, ...args], { cwd });
}

const errorOf = (p: Proc) => p.events().find((e) => e.event === 'error');
const named = (p: Proc, event: string) => p.events().filter((e) => e.event === event);

describe('names Windows cannot create: one rule everywhere', () => {
  it('a folder holding such names lands without them, the sender saying why for each', async () => {
    const src = await dir('src-names');
    const dst = await dir('dst-names');
    const root = join(src, 'proj');
    await mkdir(join(root, 'CON'), { recursive: true });
    await mkdir(join(root, 'sub'), { recursive: true });
    const files = ['aux.c', 'notes: draft.txt', 'why?.pdf', 'trailing.', 'CON/inner.txt', 'sub/nul.tar.gz', 'ok.txt', 'sub/fine.txt'];
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
    expect(errorOf(sender)).toMatchObject({ error: 'FILE_ERROR', message: expect.stringContaining('device name on Windows') });
  });
});
