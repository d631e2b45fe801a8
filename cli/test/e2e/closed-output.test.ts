/**
 * A reader that goes away early, as `| head -1` does: what it no longer reads is dropped, and the process neither
 * crashes with an unhandled EPIPE nor stops its work (`portunus send --json … | head -1` takes the code and leaves
 * the sender to finish the transfer).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, runPortunus, TRANSFER_MS, useRelayWorld } from './harness.js';

const world = useRelayWorld({ beforeAll, afterAll });

describe('standard output closed by its reader', () => {
  it('portunus --help exits 0 without an error', async () => {
    const p = runPortunus(['--help']);
    // Closed before the process has started, so its help meets a pipe nobody reads.
    p.child.stdout!.destroy();
    expect(await exitOf(p, 20_000)).toBe(0);
    expect(p.stderr()).toBe('');
  });

  it('send --json whose reader took the code and left still sends the file', async () => {
    const dir = join(world.tmp, 'head');
    await mkdir(join(dir, 'dst'), { recursive: true });
    const content = Buffer.alloc(300_000, 9);
    await writeFile(join(dir, 'data.bin'), content);
    const sender = runPortunus(['send', '--json', '--relay', world.relay.url, 'data.bin'], { cwd: dir });
    const code = String((await sender.waitEvent('code')).code);
    sender.child.stdout!.destroy();
    const receiver = runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url, code], {
      cwd: join(dir, 'dst'),
    });
    const [sc, rc] = await Promise.all([exitOf(sender, TRANSFER_MS), exitOf(receiver, TRANSFER_MS)]);
    expect(sender.stderr()).not.toMatch(/EPIPE|Error/);
    expect([sc, rc]).toEqual([0, 0]);
    expect((await readFile(join(dir, 'dst', 'data.bin'))).equals(content)).toBe(true);
  });

  it('receive -o - whose reader left fails, saying so: the data had nowhere to go', async () => {
    const dir = join(world.tmp, 'data-out');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'data.bin'), Buffer.alloc(8 * 1024 * 1024, 3));
    const sender = runPortunus(['send', '--json', '--relay', world.relay.url, 'data.bin'], { cwd: dir });
    const code = String((await sender.waitEvent('code')).code);
    const receiver = runPortunus(['receive', '--yes', '--relay', world.relay.url, '-o', '-', code], { cwd: dir });
    await new Promise((resolve) => receiver.child.stdout!.once('data', resolve));
    receiver.child.stdout!.destroy();
    const rc = await exitOf(receiver, TRANSFER_MS);
    await exitOf(sender, TRANSFER_MS);
    expect(rc).not.toBe(0);
    expect(receiver.stderr()).toMatch(/the output was closed/);
  });
});
