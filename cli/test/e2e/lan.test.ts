/**
 * LAN mode end to end: real `portunus send` and `receive` processes with no relay configured, meeting on loopback.
 * Each test uses its own discovery port (PORTUNUS_LAN_PORT) and an empty config folder; `--bind 127.0.0.1` keeps
 * every announcement and query on loopback. One test drops even that flag, inside a network namespace that has
 * nothing but `lo` (root only), to show that the code alone is enough.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnnouncer } from '../../src/lan/announcer.js';
import { freeUdpPort, GROUP, LOOPBACK_ONLY } from '../lan/udp.js';
import {
  exitOf,
  runPortunus,
  startRelayProcess,
  tempDir,
  type Proc,
  type RelayProc,
  type RunOptions,
} from './harness.js';

let tmp: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await tempDir('portunus-lan-');
});
afterAll(async () => {
  await tmp.cleanup();
});

let dirs = 0;
async function dir(name: string): Promise<string> {
  const p = join(tmp.path, `${name}-${++dirs}`);
  await mkdir(p, { recursive: true });
  return p;
}

/** No relay anywhere: an empty config folder, a private discovery port. */
async function lanEnv(): Promise<Record<string, string>> {
  return { XDG_CONFIG_HOME: await dir('config'), PORTUNUS_LAN_PORT: String(await freeUdpPort()) };
}

const LOOPBACK = ['--bind', '127.0.0.1'];
/**
 * For a receiver whose sender is there: it stops looking as soon as it has paired, so the window only bounds a
 * failure; the 5 s default is a few process start-ups on a busy machine, and running out would read as exit 6.
 */
const FINDS = [...LOOPBACK, '--discover-timeout', '30'];

function send(args: string[], opts: RunOptions): Proc {
  return runPortunus(['send', '--json', ...args], opts);
}
function receive(code: string, args: string[], opts: RunOptions): Proc {
  return runPortunus(['receive', '--json', '--yes', code, ...args], opts);
}

describe('LAN mode on one machine', () => {
  it('send + receive with no relay configured: the code is all it takes', async () => {
    const env = await lanEnv();
    const src = await dir('src');
    const dst = await dir('dst');
    const content = randomBytes(300_000);
    await writeFile(join(src, 'photo.jpg'), content);
    const sender = send(['photo.jpg', ...LOOPBACK], { cwd: src, env });
    const codeEvent = await sender.waitEvent('code');
    expect(codeEvent.mode).toBe('lan');
    const receiver = receive(String(codeEvent.code), FINDS, { cwd: dst, env });
    const [sc, rc] = await Promise.all([exitOf(sender), exitOf(receiver)]);
    expect([sc, rc], receiver.stderr() + sender.stderr()).toEqual([0, 0]);
    expect((await readFile(join(dst, 'photo.jpg'))).equals(content)).toBe(true);
  });

  it('human output says LAN mode and shows the receive command without --relay', async () => {
    const env = await lanEnv();
    const sender = runPortunus(['send', '--text', 'hi', '--no-qr', ...LOOPBACK], { env });
    const codeLine = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no code line: ${sender.stderr()}`)), 20_000);
      const check = () => {
        const m = /portunus receive (\S+)/.exec(sender.stderr());
        if (m) (clearTimeout(timer), resolve(m[1]!));
      };
      sender.child.stderr!.on('data', check);
      check();
    });
    expect(sender.stderr()).toMatch(/LAN mode/);
    const receiver = receive(codeLine, FINDS, { env });
    expect(await exitOf(receiver)).toBe(0);
    expect(receiver.events().find((e) => e.event === 'done')?.text).toBe('hi');
    expect(await exitOf(sender)).toBe(0);
  });

  it('a pre-agreed code works even when the receiver starts first', async () => {
    const env = { ...(await lanEnv()), PORTUNUS_CODE: '4242-H7K-29A' };
    const dst = await dir('dst');
    const receiver = receive('4242-H7K-29A', FINDS, { cwd: dst, env });
    // The receiver is listening (its socket is bound) before it prints anything, but wait for a sign of life anyway.
    const sender = send(['--text', 'early bird', ...LOOPBACK], { env });
    expect(await exitOf(receiver)).toBe(0);
    expect(receiver.events().find((e) => e.event === 'done')?.text).toBe('early bird');
    expect(await exitOf(sender)).toBe(0);
  });

  it('sender absent: the receiver exits 6 (NO_SENDER_FOUND) with hints once the discovery window closes', async () => {
    const env = await lanEnv();
    const receiver = runPortunus(['receive', '--yes', '1234-H7K-29A', '--discover-timeout', '1', ...LOOPBACK], { env });
    expect(await exitOf(receiver)).toBe(6);
    expect(receiver.stderr()).toMatch(/no sender found on this network/);
    expect(receiver.stderr()).toMatch(/same network/);
    expect(receiver.stderr()).toMatch(/--relay/);
    const json = runPortunus(['receive', '--json', '--yes', '1234-H7K-29A', '--discover-timeout', '0.5', ...LOOPBACK], {
      env,
    });
    expect(await exitOf(json)).toBe(6);
    expect(json.events().find((e) => e.event === 'error')).toMatchObject({ error: 'NO_SENDER_FOUND', exit: 6 });
  });

  describe('a spoofed announcement pointing to a hostile relay', () => {
    let hostile: RelayProc;
    beforeAll(async () => {
      hostile = await startRelayProcess();
    });
    afterAll(async () => {
      await hostile.stop();
    });

    it('costs the attacker its one guess: the receiver exits 3 and receives no data', async () => {
      const env = await lanEnv();
      const nameplate = 5150;
      // The attacker knows the nameplate (it is announced in clear) but not the secret.
      const fakeSender = runPortunus(['send', '--json', '--text', 'malware', '--relay', hostile.url], {
        env: { ...env, PORTUNUS_CODE: `${nameplate}-AAA-AAA` },
      });
      await fakeSender.waitEvent('code');
      const announcer = await startAnnouncer({
        nameplate,
        relayPort: Number(new URL(hostile.url).port),
        port: Number(env.PORTUNUS_LAN_PORT),
        group: GROUP,
        interfaces: LOOPBACK_ONLY,
        debug: () => {},
      });
      try {
        const dst = await dir('victim');
        const receiver = receive(`${nameplate}-H7K-29A`, FINDS, { cwd: dst, env });
        expect(await exitOf(receiver)).toBe(3);
        const events = receiver.events();
        expect(events.find((e) => e.event === 'error')).toMatchObject({ exit: 3 });
        expect(events.some((e) => e.event === 'offer' || e.event === 'done' || e.event === 'connected')).toBe(false);
        expect(await readdir(dst)).toEqual([]);
        expect(await exitOf(fakeSender)).toBe(3);
      } finally {
        await announcer.stop();
      }
    });
  });
});

describe('relay precedence end to end', () => {
  let relay: RelayProc;
  beforeAll(async () => {
    relay = await startRelayProcess();
  });
  afterAll(async () => {
    await relay.stop();
  });

  /** Sends a text with the given env/flags and receives it with an explicit --relay to the test relay. */
  async function viaRelay(env: Record<string, string>, sendFlags: string[]): Promise<Record<string, unknown>> {
    const sender = send(['--text', 'via relay', ...sendFlags], { env });
    const code = await sender.waitEvent('code');
    const receiver = receive(String(code.code), ['--relay', relay.url], { env });
    expect([await exitOf(sender), await exitOf(receiver)], sender.stderr() + receiver.stderr()).toEqual([0, 0]);
    return code;
  }

  it('config file relay is used when no flag or env is given (no LAN mode then)', async () => {
    const env = await lanEnv();
    expect(await exitOf(runPortunus(['config', 'set', 'relay', relay.url], { env }))).toBe(0);
    const code = await viaRelay(env, []);
    expect(code.mode).toBeUndefined();
  });

  it('env beats config, flag beats env', async () => {
    const env = await lanEnv();
    const dead = 'ws://127.0.0.1:1';
    expect(await exitOf(runPortunus(['config', 'set', 'relay', dead], { env }))).toBe(0);
    await viaRelay({ ...env, PORTUNUS_RELAY: relay.url }, []);
    await viaRelay({ ...env, PORTUNUS_RELAY: dead }, ['--relay', relay.url]);
  });

  it('a corrupt config file stops send with exit 2 and a hint naming it', async () => {
    const env = await lanEnv();
    await mkdir(join(env.XDG_CONFIG_HOME!, 'portunus'));
    await writeFile(join(env.XDG_CONFIG_HOME!, 'portunus', 'config.json'), '{ nope');
    const sender = runPortunus(['send', '--text', 'x'], { env });
    expect(await exitOf(sender)).toBe(2);
    expect(sender.stderr()).toContain(join(env.XDG_CONFIG_HOME!, 'portunus', 'config.json'));
    expect(sender.stderr()).toMatch(/not valid JSON/);
  });
});

describe('portunus config', () => {
  it('set, get, unset, path', async () => {
    const env = await lanEnv();
    const path = join(env.XDG_CONFIG_HOME!, 'portunus', 'config.json');
    const run = async (args: string[]) => {
      const p = runPortunus(['config', ...args], { env });
      return { code: await exitOf(p), out: p.stdout(), err: p.stderr() };
    };
    expect(await run(['path'])).toMatchObject({ code: 0, out: `${path}\n` });
    expect(await run(['get', 'relay'])).toMatchObject({ code: 0, out: '' });
    expect((await run(['set', 'relay', 'wss://relay.example.org'])).code).toBe(0);
    expect((await run(['set', 'iceServers', 'stun:stun.example.org:3478', 'turn:u:p@turn.example.org'])).code).toBe(0);
    expect(await run(['get', 'relay'])).toMatchObject({ code: 0, out: 'wss://relay.example.org\n' });
    expect(await run(['get'])).toMatchObject({
      code: 0,
      out: 'relay = wss://relay.example.org\niceServers = stun:stun.example.org:3478 turn:u:p@turn.example.org\n',
    });
    expect(JSON.parse((await run(['get', '--json'])).out)).toEqual({
      relay: 'wss://relay.example.org',
      iceServers: ['stun:stun.example.org:3478', 'turn:u:p@turn.example.org'],
    });
    expect((await run(['unset', 'relay'])).code).toBe(0);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      iceServers: ['stun:stun.example.org:3478', 'turn:u:p@turn.example.org'],
    });
  });

  it('invalid values and unknown keys are usage errors (exit 2); nothing is written', async () => {
    const env = await lanEnv();
    for (const args of [
      ['set', 'relay', 'ftp://x'],
      ['set', 'colour', 'blue'],
      ['set', 'iceServers', 'http://x'],
      ['get', 'colour'],
    ]) {
      const p = runPortunus(['config', ...args], { env });
      expect(await exitOf(p), args.join(' ')).toBe(2);
      expect(p.stderr()).toMatch(/hint:/);
    }
    expect(await readdir(env.XDG_CONFIG_HOME!)).toEqual([]);
  });

  it('a corrupt file is reported, not silently replaced', async () => {
    const env = await lanEnv();
    const path = join(env.XDG_CONFIG_HOME!, 'portunus', 'config.json');
    await mkdir(join(env.XDG_CONFIG_HOME!, 'portunus'));
    await writeFile(path, '[1,2');
    const p = runPortunus(['config', 'set', 'relay', 'wss://relay.example.org'], { env });
    expect(await exitOf(p)).toBe(2);
    expect(p.stderr()).toContain(path);
    expect(await readFile(path, 'utf8')).toBe('[1,2');
  });
});

/** Root and iproute2 are needed to make a namespace; without them the test says why and is skipped. */
function netnsSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace';
  if (spawnSync('ip', ['-V']).status !== 0) return "needs iproute2's `ip`";
  return undefined;
}

describe('LAN mode on a machine with nothing but loopback', () => {
  const skip = netnsSkipReason();
  if (skip !== undefined) console.log(`skipping loopback-only namespace test: ${skip}`);
  const ns = `portunus-lo-${process.pid}-${randomBytes(3).toString('hex')}`;
  beforeAll(() => {
    if (skip !== undefined) return;
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    expect(spawnSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']).status).toBe(0);
  });
  afterAll(() => {
    if (skip === undefined) spawnSync('ip', ['netns', 'del', ns]);
  });

  it.skipIf(skip !== undefined)('no flags at all: send and receive find each other', async () => {
    const env = { XDG_CONFIG_HOME: await dir('config') };
    const prefix = ['ip', 'netns', 'exec', ns];
    const sender = send(['--text', 'only lo here'], { env, prefix });
    const code = await sender.waitEvent('code');
    expect(code.mode).toBe('lan');
    const receiver = receive(String(code.code), [], { env, prefix });
    expect(await exitOf(receiver), receiver.stderr()).toBe(0);
    expect(receiver.events().find((e) => e.event === 'done')?.text).toBe('only lo here');
    expect(await exitOf(sender)).toBe(0);
  });
});
