/**
 * Links to the relay's page (`http://127.0.0.1:<port>/#7-H7K-29A`) from the real executable. `portunus send` shows
 * one and puts it in the `code` event as `url` when its relay serves the page (a relay given the built page with
 * --page-dir), and neither with a relay that serves none (--no-page). `portunus receive` takes one in place of a code
 * and meets the sender at the link's relay, on a computer with no relay configured (empty config, a private LAN
 * discovery port: falling back to LAN mode would find nobody and exit 6); a link that is not one fails with USAGE
 * before any connection.
 */
import { createServer, type Server } from 'node:net';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import qrcode from 'qrcode-terminal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort } from '../lan/udp.js';
import { hasScript, runInPty } from './pty.js';
import { portunusBinDir, runShell } from './shell.js';
import { exitOf, ROOT, runPortunus, startRelayProcess, tempDir, type Proc, type RelayProc } from './harness.js';

let pageRelay: RelayProc;
let bareRelay: RelayProc;
let tmp: { path: string; cleanup: () => Promise<void> };
/** A TCP listener on loopback that counts connections: where a relay would be, to show nobody connected. */
let trap: { server: Server; connections: number; url: string };
beforeAll(async () => {
  [pageRelay, bareRelay, tmp] = await Promise.all([
    startRelayProcess(['--page-dir', join(ROOT, 'packages/web/dist')]),
    startRelayProcess(['--no-page']),
    tempDir('portunus-links-'),
  ]);
  const server = createServer((socket) => (trap.connections++, socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  trap = { server, connections: 0, url: `ws://127.0.0.1:${port}` };
});
afterAll(async () => {
  await Promise.all([pageRelay.stop(), bareRelay.stop(), new Promise((resolve) => trap.server.close(resolve))]);
  await tmp.cleanup();
});

let dirs = 0;
async function emptyDir(): Promise<string> {
  const path = join(tmp.path, `links-${dirs++}`);
  await mkdir(path, { recursive: true });
  return path;
}

/** A computer with nothing configured: no relay, no config file, LAN discovery on a port nobody announces on. */
async function bareEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return { XDG_CONFIG_HOME: await emptyDir(), PORTUNUS_LAN_PORT: String(await freeUdpPort()), ...extra };
}

/** A sender of a text message through `relay`, and its `code` event. */
async function textSender(message: string, relay = pageRelay): Promise<{ sender: Proc; code: string; url: string }> {
  const sender = runPortunus(['send', '--json', '--relay', relay.url, '--text', message], { env: await bareEnv() });
  const event = await sender.waitEvent('code');
  return { sender, code: String(event.code), url: String(event.url) };
}

async function receiveAll(sender: Proc, args: string[], env: Record<string, string>): Promise<Proc> {
  const receiver = runPortunus(['receive', '--yes', '--json', ...args], { cwd: await emptyDir(), env });
  const [sc, rc] = await Promise.all([exitOf(sender), exitOf(receiver)]);
  expect([sc, rc], receiver.stderr() + sender.stderr()).toEqual([0, 0]);
  return receiver;
}

/** The page at `url` (without its fragment, as a browser asks for it). */
async function pageAt(url: string): Promise<{ status: number; type: string | null }> {
  const res = await fetch(new URL(url).origin + '/');
  await res.arrayBuffer();
  return { status: res.status, type: res.headers.get('content-type') };
}

describe('portunus send shows a link to the page', () => {
  it('--json: the code event has url, the page of the relay it used with the code in the fragment only', async () => {
    const { sender, code, url } = await textSender('linked');
    const relayPort = new URL(pageRelay.url).port;
    expect(url).toBe(`http://127.0.0.1:${relayPort}/#${code}`);
    expect(await pageAt(url)).toEqual({ status: 200, type: 'text/html; charset=utf-8' });
    sender.child.kill('SIGINT');
    await exitOf(sender);
  });

  it('--json: no url when the relay serves no page', async () => {
    const { sender } = await textSender('unlinked', bareRelay);
    const event = sender.events().find((e) => e.event === 'code')!;
    expect(Object.keys(event).sort()).toEqual(['code', 'event', 'nameplate', 'uri']);
    sender.child.kill('SIGINT');
    await exitOf(sender);
  });

  it('human output: the receive command, then the link; no debug line carries the code', async () => {
    const src = await emptyDir();
    await writeFile(join(src, 'data.bin'), randomBytes(300_000));
    const sender = runPortunus(['send', '--verbose', '--relay', pageRelay.url, 'data.bin'], {
      cwd: src,
      env: await bareEnv(),
    });
    const link = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no link: ${sender.stderr()}`)), 20_000);
      const check = () => {
        const m = /Or open this link in a browser:\n\n {4}(\S+)\n/.exec(sender.stderr());
        if (m) (clearTimeout(timer), resolve(m[1]!));
      };
      sender.child.stderr!.on('data', check);
      check();
    });
    const code = /^Code: (\S+)$/m.exec(sender.stderr())![1]!;
    expect(link).toBe(`${pageRelay.url.replace(/^ws:/, 'http:').replace(/\/v1$/, '')}/#${code}`);
    expect(sender.stderr()).toContain(`portunus receive --relay ${pageRelay.url} ${code}`);
    // The link holds the code: a whole transfer through it, both sides --verbose, and no debug line shows the secret.
    const receiver = runPortunus(['receive', '--yes', '--verbose', link], {
      cwd: await emptyDir(),
      env: await bareEnv(),
    });
    const [sc, rc] = await Promise.all([exitOf(sender), exitOf(receiver)]);
    expect([sc, rc], receiver.stderr()).toEqual([0, 0]);
    const secret = code.slice(code.indexOf('-') + 1);
    const debug = [sender, receiver].flatMap((p) => p.stderr().split('\n')).filter((l) => l.startsWith('[debug]'));
    expect(debug.length).toBeGreaterThan(4);
    expect(debug.filter((l) => l.includes(secret))).toEqual([]);
  });
});

describe('portunus receive <link>', () => {
  it("meets the sender at the relay the sender's link names, with no relay configured", async () => {
    const { sender, url } = await textSender('over a link');
    const receiver = await receiveAll(sender, [url], await bareEnv());
    expect(receiver.events().at(-1)).toMatchObject({ event: 'done', text: 'over a link' });
  });

  it("the README's line, with the sender's link in it, run in a shell", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const line = /^portunus receive '(https:\/\/relay\.example\.org\/#7-H7K-29A)'/m.exec(readme);
    expect(line, 'the README shows receive with a quoted link').not.toBeNull();
    const { sender, url } = await textSender('from the README');
    const bin = await portunusBinDir();
    try {
      const script = `${line![0].replace(line![1]!, url)} --yes --json`;
      const other = runShell(script, { binDir: bin.path, cwd: await emptyDir(), env: await bareEnv() });
      expect(await other.exit, other.stderr()).toBe(0);
      expect(await exitOf(sender)).toBe(0);
      expect(JSON.parse(other.stdout().trim().split('\n').at(-1)!)).toMatchObject({ text: 'from the README' });
    } finally {
      await bin.cleanup();
    }
  });

  it('takes the link from PORTUNUS_CODE too, and it overrides PORTUNUS_RELAY, saying so', async () => {
    const { sender, url } = await textSender('link beats the environment');
    const env = await bareEnv({ PORTUNUS_CODE: url, PORTUNUS_RELAY: trap.url });
    const receiver = runPortunus(['receive', '--yes'], { cwd: await emptyDir(), env });
    const [sc, rc] = await Promise.all([exitOf(sender), exitOf(receiver)]);
    expect([sc, rc], receiver.stderr()).toEqual([0, 0]);
    expect(receiver.stdout()).toContain('link beats the environment');
    expect(receiver.stderr()).toContain(`Using the relay in the link (${new URL(url).origin})`);
  });

  it('keeps a --relay naming the same relay as the link (its path included)', async () => {
    const { sender, url } = await textSender('same relay twice');
    const receiver = await receiveAll(sender, ['--relay', pageRelay.url, url], await bareEnv());
    expect(receiver.events().at(-1)).toMatchObject({ event: 'done', text: 'same relay twice' });
  });
});

describe.skipIf(!hasScript)('at a terminal', () => {
  it("the sender's QR code encodes the link; the link typed at the receiver's prompt works", async () => {
    const env = { ...process.env, ...(await bareEnv()) };
    const sender = runInPty(['send', '--relay', pageRelay.url, '--text', 'typed link'], { cwd: await emptyDir(), env });
    await sender.waitFor(/Waiting for the receiver/);
    const shown = sender.output().replace(/\r\n/g, '\n');
    const link = /^ {4}(http:\S+)$/m.exec(shown)![1]!;
    let qr = '';
    qrcode.generate(link, { small: true }, (text: string) => (qr = text));
    expect(shown).toContain(qr);
    const receiver = runInPty(['receive', '--yes'], {
      cwd: await emptyDir(),
      env: { ...process.env, ...(await bareEnv()) },
    });
    await receiver.waitFor(/Enter the code:/);
    receiver.type(`${link}\r`);
    expect(await receiver.exit, receiver.output()).toBe(0);
    expect(await sender.exit).toBe(0);
    expect(receiver.output()).toContain('typed link');
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
    const receiver = runPortunus(['receive', '--yes', '--relay', pageRelay.url, link], { env: await bareEnv() });
    expect(await exitOf(receiver, 20_000)).toBe(2);
    expect(receiver.stderr()).toMatch(/^portunus: the link is for the relay at http:\/\/127\.0\.0\.1:\d+, but --relay/);
    expect(receiver.stderr()).toMatch(/hint: Drop --relay/);
    expect(receiver.stderr()).not.toContain('H7K-29A');
    expect(trap.connections).toBe(before);
  });
});

describe("LAN mode: the link points at the sender's built-in relay", () => {
  it('http://<bind address>:<relay port>/#CODE, which serves the page and takes a receiver without discovery', async () => {
    const sender = runPortunus(['send', '--json', '--bind', '127.0.0.1', '--text', 'lan link'], {
      env: await bareEnv(),
    });
    const event = await sender.waitEvent('code');
    expect(event.mode).toBe('lan');
    const url = String(event.url);
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/#${String(event.code)}$`));
    expect(await pageAt(url)).toEqual({ status: 200, type: 'text/html; charset=utf-8' });
    // Another discovery port than the sender's: only the link can lead the receiver to it.
    const receiver = await receiveAll(sender, [url], await bareEnv());
    expect(receiver.events().at(-1)).toMatchObject({ event: 'done', text: 'lan link' });
  });
});

/** Root and iproute2 make a namespace; without them the test says why and is skipped. */
function netnsSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace';
  if (spawnSync('ip', ['-V']).status !== 0) return "needs iproute2's `ip`";
  return undefined;
}

describe('LAN mode on a machine with a network besides loopback', () => {
  const skip = netnsSkipReason();
  if (skip !== undefined) console.log(`skipping LAN link namespace test: ${skip}`);
  const ns = `portunus-link-${process.pid}-${randomBytes(3).toString('hex')}`;
  const inNs = (...args: string[]) => spawnSync('ip', ['netns', 'exec', ns, ...args]).status;
  beforeAll(() => {
    if (skip !== undefined) return;
    // A namespace with lo and one "LAN" interface (a veth pair, both ends inside: no way out of the namespace).
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    expect(inNs('ip', 'link', 'set', 'lo', 'up')).toBe(0);
    expect(inNs('ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1')).toBe(0);
    expect(inNs('ip', 'addr', 'add', '10.47.0.2/24', 'dev', 'lan0')).toBe(0);
    expect(inNs('ip', 'link', 'set', 'lan0', 'up')).toBe(0);
    expect(inNs('ip', 'link', 'set', 'lan1', 'up')).toBe(0);
  });
  afterAll(() => {
    if (skip === undefined) spawnSync('ip', ['netns', 'del', ns]);
  });

  it.skipIf(skip !== undefined)('no --bind: the link names the LAN address, not loopback, and works', async () => {
    const prefix = ['ip', 'netns', 'exec', ns];
    const sender = runPortunus(['send', '--json', '--text', 'from the lan'], { env: await bareEnv(), prefix });
    const event = await sender.waitEvent('code');
    const url = String(event.url);
    expect(url).toMatch(new RegExp(`^http://10\\.47\\.0\\.2:\\d+/#${String(event.code)}$`));
    const receiver = runPortunus(['receive', '--yes', '--json', url], { env: await bareEnv(), prefix });
    const [sc, rc] = await Promise.all([exitOf(sender), exitOf(receiver)]);
    expect([sc, rc], receiver.stderr() + sender.stderr()).toEqual([0, 0]);
    expect(receiver.events().at(-1)).toMatchObject({ event: 'done', text: 'from the lan' });
  });
});
