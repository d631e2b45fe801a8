/**
 * Links to the relay's page (`http://127.0.0.1:<port>/#7-H7K-29A`) from the real executable: `portunus receive`
 * takes one in place of a code and meets the sender at the link's relay, on a computer with no relay configured
 * (empty config, a private LAN discovery port: falling back to LAN mode would find nobody and exit 6); a link that
 * is not one fails with USAGE before any connection.
 */
import { createServer, type Server } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort } from '../lan/udp.js';
import { exitOf, runPortunus, useRelayWorld, type Proc } from './harness.js';

const world = useRelayWorld({ beforeAll, afterAll });

/** A TCP listener on loopback that counts connections: where a relay would be, to show nobody connected. */
let trap: { server: Server; connections: number; url: string };
beforeAll(async () => {
  const server = createServer((socket) => (trap.connections++, socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  trap = { server, connections: 0, url: `ws://127.0.0.1:${port}` };
});
afterAll(async () => {
  await new Promise((resolve) => trap.server.close(resolve));
});

let dirs = 0;
async function emptyDir(): Promise<string> {
  const path = join(world.tmp, `links-${dirs++}`);
  await mkdir(path, { recursive: true });
  return path;
}

/** A computer with nothing configured: no relay, no config file, LAN discovery on a port nobody announces on. */
async function bareEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return { XDG_CONFIG_HOME: await emptyDir(), PORTUNUS_LAN_PORT: String(await freeUdpPort()), ...extra };
}

/** The link the relay's page would have for `code`: the relay's address over http, the code in the fragment. */
function linkFor(code: string): string {
  return `${world.relay.url.replace(/^ws:/, 'http:').replace(/\/v1$/, '')}/#${code}`;
}

async function textSender(message: string): Promise<{ sender: Proc; code: string }> {
  const sender = runPortunus(['send', '--json', '--relay', world.relay.url, '--text', message], {
    env: await bareEnv(),
  });
  return { sender, code: String((await sender.waitEvent('code')).code) };
}

async function receiveAll(sender: Proc, args: string[], env: Record<string, string>): Promise<Proc> {
  const receiver = runPortunus(['receive', '--yes', '--json', ...args], { cwd: await emptyDir(), env });
  const [sc, rc] = await Promise.all([exitOf(sender), exitOf(receiver)]);
  expect([sc, rc], receiver.stderr() + sender.stderr()).toEqual([0, 0]);
  return receiver;
}

describe('portunus receive <link>', () => {
  it('meets the sender at the relay the link names, with no relay configured', async () => {
    const { sender, code } = await textSender('over a link');
    const receiver = await receiveAll(sender, [linkFor(code)], await bareEnv());
    expect(receiver.events().at(-1)).toMatchObject({ event: 'done', text: 'over a link' });
  });

  it('takes the link from PORTUNUS_CODE too, and it overrides PORTUNUS_RELAY, saying so', async () => {
    const { sender, code } = await textSender('link beats the environment');
    const env = await bareEnv({ PORTUNUS_CODE: linkFor(code), PORTUNUS_RELAY: trap.url });
    const receiver = runPortunus(['receive', '--yes'], { cwd: await emptyDir(), env });
    const [sc, rc] = await Promise.all([exitOf(sender), exitOf(receiver)]);
    expect([sc, rc], receiver.stderr()).toEqual([0, 0]);
    expect(receiver.stdout()).toContain('link beats the environment');
    expect(receiver.stderr()).toContain(`Using the relay in the link (${new URL(linkFor(code)).origin})`);
  });

  it('keeps a --relay naming the same relay as the link (its path included)', async () => {
    const { sender, code } = await textSender('same relay twice');
    const receiver = await receiveAll(sender, ['--relay', world.relay.url, linkFor(code)], await bareEnv());
    expect(receiver.events().at(-1)).toMatchObject({ event: 'done', text: 'same relay twice' });
  });
});

describe('links that cannot be used fail before any connection', () => {
  const trapLink = (fragment: string) => `${trap.url.replace(/^ws:/, 'http:')}/#${fragment}`;

  it.each([
    ['not a link at all', () => 'relay.example/#7-H7K-29A', 'USAGE', /neither a code nor a link/],
    ['no code in the fragment', () => trapLink(''), 'USAGE', /no code after '#'/],
    ['a path besides the relay', () => `${trapLink('7-H7K-29A').replace('/#', '/x/#')}`, 'USAGE', /no path/],
    ['another scheme', () => trapLink('7-H7K-29A').replace(/^http:/, 'ftp:'), 'USAGE', /https:\/\//],
    ['a fragment that is no code', () => trapLink('9999999-H7K-29A'), 'BAD_CODE', /between 1 and 999999/],
  ])('%s', async (_what, link, error, message) => {
    const before = trap.connections;
    const receiver = runPortunus(['receive', '--yes', '--json', link()], { env: await bareEnv() });
    expect(await exitOf(receiver, 20_000)).toBe(2);
    const ev = receiver.events().at(-1)!;
    expect(ev).toMatchObject({ event: 'error', error, hint: expect.any(String) });
    expect(String(ev.message)).toMatch(message);
    expect(trap.connections).toBe(before);
  });

  it('--relay naming another relay than the link is a USAGE error, and nothing is contacted', async () => {
    const before = trap.connections;
    const link = `${trap.url.replace(/^ws:/, 'http:')}/#7-H7K-29A`;
    const receiver = runPortunus(['receive', '--yes', '--relay', world.relay.url, link], { env: await bareEnv() });
    expect(await exitOf(receiver, 20_000)).toBe(2);
    expect(receiver.stderr()).toMatch(/^portunus: the link is for the relay at http:\/\/127\.0\.0\.1:\d+, but --relay/);
    expect(receiver.stderr()).toMatch(/hint: Drop --relay/);
    expect(receiver.stderr()).not.toContain('H7K-29A');
    expect(trap.connections).toBe(before);
  });
});
