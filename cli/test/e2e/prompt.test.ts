/** The interactive receiver, on a real pseudo-terminal: it shows the offer, asks, and honours the answer. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentOwner, stateOf, tempSibling } from '../../src/files/temp-path.js';
import { exitOf, runPortunus, useRelayWorld } from './harness.js';
import { hasScript, runInPty } from './pty.js';

const world = useRelayWorld({ beforeAll, afterAll });

if (!hasScript) console.log('skipping prompt tests: script(1) is not installed (apt-get install bsdutils)');

describe.skipIf(!hasScript)('receiving at a terminal', () => {
  async function offerFile(name: string, content: string) {
    const src = join(world.tmp, `src-${name}`);
    const dst = join(world.tmp, `dst-${name}`);
    await mkdir(src, { recursive: true });
    await mkdir(dst, { recursive: true });
    await writeFile(join(src, name), content);
    const sender = runPortunus(['send', '--json', '--relay', world.relay.url, name], { cwd: src });
    const code = String((await sender.waitEvent('code')).code);
    return { sender, code, dst };
  }

  it('declining at the prompt: sender exit 4, receiver exit 4, nothing written', async () => {
    const { sender, code, dst } = await offerFile('decline.txt', 'no thanks');
    const receiver = runInPty(['receive', '--relay', world.relay.url, code], { cwd: dst });
    await receiver.waitFor(/Receive\? \[y\/N\]/);
    expect(receiver.output()).toMatch(/file 'decline\.txt' \(9 B\)/);
    receiver.type('n\r');
    expect(await exitOf(sender)).toBe(4);
    expect(await receiver.exit).toBe(4);
    expect(sender.events().find((e) => e.event === 'error')).toMatchObject({ error: 'REJECTED' });
    expect(await readdir(dst)).toEqual([]);
  });

  it('accepting at the prompt receives the file', async () => {
    const { sender, code, dst } = await offerFile('accept.txt', 'yes please');
    const receiver = runInPty(['receive', '--relay', world.relay.url, code], { cwd: dst });
    await receiver.waitFor(/Receive\? \[y\/N\]/);
    receiver.type('y\r');
    expect(await exitOf(sender)).toBe(0);
    expect(await receiver.exit).toBe(0);
    expect(await readFile(join(dst, 'accept.txt'), 'utf8')).toBe('yes please');
  });

  it('a partial from an interrupted receive: the question says how much is here, and the rest is sent', async () => {
    const content = 'x'.repeat(3000) + 'the rest';
    const { sender, code, dst } = await offerFile('resumed.txt', content);
    // What a killed receive leaves: its part and state, named after a process that is gone.
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.on('exit', resolve));
    const part = tempSibling(join(dst, 'resumed.txt'), randomBytes, 'part', { ...currentOwner(), pid: gone.pid! });
    await writeFile(part, content.slice(0, 2048));
    const identity = { target: 'resumed.txt', name: 'resumed.txt', size: content.length, mode: 0o644 };
    await writeFile(stateOf(part), JSON.stringify({ format: 'portunus-resume-v1', ...identity, bytes: 2048 }));
    const receiver = runInPty(['receive', '--relay', world.relay.url, code], { cwd: dst });
    await receiver.waitFor(/2\.05 kB of 3\.01 kB already here from an interrupted transfer; resume\? \[y\/N\]/);
    receiver.type('y\r');
    expect(await exitOf(sender)).toBe(0);
    expect(await receiver.exit).toBe(0);
    expect(await readFile(join(dst, 'resumed.txt'), 'utf8')).toBe(content);
    expect(sender.events().find((e) => e.event === 'done')).toMatchObject({ reused: 2048 });
  });

  it('asks for the code when none is given', async () => {
    const { sender, code, dst } = await offerFile('asked.txt', 'asked');
    const receiver = runInPty(['receive', '--relay', world.relay.url, '--yes'], { cwd: dst });
    await receiver.waitFor(/Enter the code:/);
    receiver.type(`${code.toLowerCase()}\r`);
    expect(await exitOf(sender)).toBe(0);
    expect(await receiver.exit).toBe(0);
    expect(await readFile(join(dst, 'asked.txt'), 'utf8')).toBe('asked');
  });
});
