/**
 * The receive command the sender prints is what the other computer must run: the test runs it as printed, in a
 * shell, on a "computer" with no relay configured (empty config, no PORTUNUS_RELAY, a private LAN discovery port,
 * so falling back to LAN mode would find nobody and exit 6).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort } from '../lan/udp.js';
import { exitOf, runPortunus, useRelayWorld } from './harness.js';
import { portunusBinDir, runShell } from './shell.js';

const world = useRelayWorld({ beforeAll, afterAll });
let bin: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  bin = await portunusBinDir();
});
afterAll(async () => {
  await bin.cleanup();
});

let dirs = 0;
async function emptyDir(): Promise<string> {
  const path = join(world.tmp, `home-${dirs++}`);
  await mkdir(path, { recursive: true });
  return path;
}

/** Sends a text message with the given relay settings, and runs what it prints on a computer without them. */
async function sendAndRunPrinted(
  senderEnv: Record<string, string>,
  message: string,
  args: string[] = [],
): Promise<string> {
  const sender = runPortunus(['send', '--no-qr', '--text', message, ...args], { env: senderEnv });
  const printed = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no receive command: ${sender.stderr()}`)), 20_000);
    const check = () => {
      const m = /^ {4}(portunus receive .+)$/m.exec(sender.stderr());
      if (m) (clearTimeout(timer), resolve(m[1]!));
    };
    sender.child.stderr!.on('data', check);
    check();
  });
  const other = runShell(`${printed} --yes --json`, {
    binDir: bin.path,
    cwd: await emptyDir(),
    env: { XDG_CONFIG_HOME: await emptyDir(), PORTUNUS_LAN_PORT: String(await freeUdpPort()) },
  });
  expect(await other.exit, other.stderr()).toBe(0);
  expect(await exitOf(sender)).toBe(0);
  expect(JSON.parse(other.stdout().trim().split('\n').at(-1)!)).toMatchObject({ event: 'done', text: message });
  return printed;
}

describe('the receive command the sender prints', () => {
  it('names the relay that came from PORTUNUS_RELAY', async () => {
    const printed = await sendAndRunPrinted(
      { PORTUNUS_RELAY: world.relay.url, XDG_CONFIG_HOME: await emptyDir() },
      'from the environment',
    );
    expect(printed).toContain(`--relay ${world.relay.url}`);
  });

  it('names the relay that came from the config file', async () => {
    const config = await emptyDir();
    await mkdir(join(config, 'portunus'));
    await writeFile(join(config, 'portunus', 'config.json'), JSON.stringify({ relay: world.relay.url }));
    const printed = await sendAndRunPrinted({ XDG_CONFIG_HOME: config }, 'from the config file');
    expect(printed).toContain(`--relay ${world.relay.url}`);
  });

  it('names the relay given with --relay, quoted for the shell when it needs to be', async () => {
    const url = `${world.relay.url}?note=a&b`;
    const printed = await sendAndRunPrinted({ XDG_CONFIG_HOME: await emptyDir() }, 'from the flag', ['--relay', url]);
    expect(printed).toContain(`portunus receive --relay '${url}' `);
  });
});
