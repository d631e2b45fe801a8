/**
 * The config file (location, checking, atomic writes), relay precedence (--relay > PORTUNUS_RELAY > config > LAN)
 * and CA file precedence (--ca > PORTUNUS_CA > config).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  configPath,
  configuredIceServers,
  loadConfig,
  readConfigFile,
  writeConfigFile,
} from '../../src/config/config-file.js';
import { iceServerProblem, relayUrlProblem, SETTINGS } from '../../src/config/settings.js';
import { resolveRelay, type CommonOptions } from '../../src/commands/common.js';
import { chooseCaFile } from '../../src/relay-client/relay-ca.js';
import { PortunusError } from '@portunus/protocol';
import { exitCodeOf } from '../../src/ui/error-guide.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'portunus-config-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const file = () => join(home, '.config', 'portunus', 'config.json');
async function writeRaw(text: string): Promise<void> {
  await mkdir(join(home, '.config', 'portunus'), { recursive: true });
  await writeFile(file(), text);
}
const env = () => ({ HOME: home });
const opts = (relay?: string): CommonOptions => ({
  relay,
  timeout: '600',
  stallTimeout: '60',
  transport: 'auto',
  chunkSize: '1048576',
});

describe('config file location', () => {
  it('XDG_CONFIG_HOME when absolute, else ~/.config, else none', () => {
    expect(configPath({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/u' })).toBe('/x/cfg/portunus/config.json');
    expect(configPath({ XDG_CONFIG_HOME: 'relative/cfg', HOME: '/home/u' })).toBe(
      '/home/u/.config/portunus/config.json',
    );
    expect(configPath({ XDG_CONFIG_HOME: '', HOME: '/home/u' })).toBe('/home/u/.config/portunus/config.json');
    expect(configPath({})).toBeUndefined();
    expect(loadConfig({})).toEqual({});
  });
});

describe('reading the config file', () => {
  it('a missing file is an empty config', () => {
    expect(loadConfig(env())).toEqual({});
    expect(configuredIceServers(env())).toEqual([]);
  });

  it('reads relay and iceServers; keeps unknown keys for writing back', async () => {
    await writeRaw(
      JSON.stringify({
        relay: 'wss://relay.example.org',
        iceServers: ['stun:stun.example.org:3478'],
        future: { x: 1 },
      }),
    );
    expect(loadConfig(env())).toEqual({ relay: 'wss://relay.example.org', iceServers: ['stun:stun.example.org:3478'] });
    expect(configuredIceServers(env())).toEqual(['stun:stun.example.org:3478']);
    expect(readConfigFile(env())?.raw.future).toEqual({ x: 1 });
  });

  const corrupt: [string, string, RegExp][] = [
    ['not JSON', '{"relay": ', /not valid JSON/],
    ['not an object', '["wss://x"]', /not a JSON object/],
    ['a relay that is not a URL', '{"relay":"relay.example.org"}', /not a ws:\/\/ or wss:\/\/ URL/],
    ['a relay with a control character', '{"relay":"ws://a\\u001b[31m"}', /not a ws:\/\/ or wss:\/\/ URL/],
    ['a relay that is not a string', '{"relay":42}', /must be a string/],
    ['iceServers not a list', '{"iceServers":"stun:x"}', /list/],
    ['an ICE server of another scheme', '{"iceServers":["http://x"]}', /not a STUN or TURN URL/],
    ['a TURN server without credentials', '{"iceServers":["turn:turn.example.org"]}', /needs user:password@/],
    ['too big', JSON.stringify({ pad: 'x'.repeat(70 * 1024) }), /larger than/],
  ];
  it.each(corrupt)('%s: BAD_CONFIG (exit 2) naming the file, with a hint', async (_, text, message) => {
    await writeRaw(text);
    const err = (() => {
      try {
        loadConfig(env());
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(PortunusError);
    expect(err).toMatchObject({ code: 'BAD_CONFIG' });
    expect(exitCodeOf(err as PortunusError)).toBe(2);
    expect((err as PortunusError).message).toContain(file());
    expect((err as PortunusError).message).toMatch(message);
    expect((err as PortunusError).hint).toContain(file());
  });
});

describe('writing the config file', () => {
  it('creates folder (0700) and file (0600) atomically, leaving no temporary file', async () => {
    const path = await writeConfigFile(env(), { relay: 'ws://127.0.0.1:4747' });
    expect(path).toBe(file());
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ relay: 'ws://127.0.0.1:4747' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, '.config', 'portunus'))).mode & 0o777).toBe(0o700);
    await writeConfigFile(env(), { relay: 'wss://other.example.org' });
    expect(await readdir(join(home, '.config', 'portunus'))).toEqual(['config.json']);
    expect(loadConfig(env()).relay).toBe('wss://other.example.org');
  });

  it('with no HOME and no XDG_CONFIG_HOME, says so', async () => {
    await expect(writeConfigFile({}, {})).rejects.toMatchObject({ code: 'BAD_CONFIG' });
  });
});

describe('setting values', () => {
  it('relay: exactly one ws://, wss://, http:// or https:// URL', () => {
    expect(SETTINGS.relay.fromArgs(['wss://relay.example.org'])).toBe('wss://relay.example.org');
    expect(SETTINGS.relay.fromArgs(['https://relay.example.org'])).toBe('https://relay.example.org');
    expect(() => SETTINGS.relay.fromArgs(['ftp://relay.example.org'])).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
    expect(() => SETTINGS.relay.fromArgs(['ws://a', 'ws://b'])).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(relayUrlProblem('ws://')).toBeDefined();
  });

  it('ca: one absolute path of a readable PEM file', async () => {
    const pem = join(home, 'ca.pem');
    await writeFile(pem, 'not a certificate\n');
    expect(() => SETTINGS.ca.fromArgs([pem])).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/no PEM certificate/) }),
    );
    expect(() => SETTINGS.ca.fromArgs(['ca.pem'])).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/not an absolute path/) }),
    );
    expect(() => SETTINGS.ca.fromArgs([pem, pem])).toThrow(expect.objectContaining({ code: 'USAGE' }));
    await writeRaw(JSON.stringify({ ca: 'relative/ca.pem' }));
    expect(() => loadConfig(env())).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    await writeRaw(JSON.stringify({ ca: '/etc/ssl/relay-ca.pem' }));
    expect(loadConfig(env())).toEqual({ ca: '/etc/ssl/relay-ca.pem' });
  });

  it('iceServers: 1 to 16 stun/turn URIs', () => {
    expect(SETTINGS.iceServers.fromArgs(['stun:a.example:3478', 'turns:u:p@b.example?transport=tcp'])).toEqual([
      'stun:a.example:3478',
      'turns:u:p@b.example?transport=tcp',
    ]);
    // The same parser as --ice-server: a TURN server needs credentials, so `config set` refuses what a transfer would.
    expect(() => SETTINGS.iceServers.fromArgs(['turns:b.example?transport=tcp'])).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
    expect(() => SETTINGS.iceServers.fromArgs([])).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => SETTINGS.iceServers.fromArgs(Array(17).fill('stun:a'))).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
    expect(iceServerProblem('stun:has space')).toBeDefined();
  });
});

describe('relay precedence: flag > env > config > LAN', () => {
  const CONFIG = 'wss://from-config.example.org';
  const ENV = 'wss://from-env.example.org';
  const FLAG = 'wss://from-flag.example.org';
  const cases: [string, string | undefined, string | undefined, boolean, string | undefined][] = [
    ['flag beats env and config', FLAG, ENV, true, FLAG],
    ['env beats config', undefined, ENV, true, ENV],
    ['config when neither flag nor env', undefined, undefined, true, CONFIG],
    ['flag alone', FLAG, undefined, false, FLAG],
    ['nothing anywhere: LAN mode', undefined, undefined, false, undefined],
    ['empty flag and env count as unset', '', '', true, CONFIG],
  ];
  it.each(cases)('%s', async (_, flag, envRelay, inConfig, expected) => {
    if (inConfig) await writeRaw(JSON.stringify({ relay: CONFIG }));
    const e = { ...env(), ...(envRelay === undefined ? {} : { PORTUNUS_RELAY: envRelay }) };
    expect(resolveRelay(opts(flag), e)).toBe(expected);
  });

  it('the config file is not read when the flag or the environment decides (a corrupt one does not matter then)', async () => {
    await writeRaw('{ corrupt');
    expect(resolveRelay(opts(FLAG), env())).toBe(FLAG);
    expect(resolveRelay(opts(), { ...env(), PORTUNUS_RELAY: ENV })).toBe(ENV);
    expect(() => resolveRelay(opts(), env())).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });

  it('a bad flag value is a usage error', () => {
    expect(() => resolveRelay(opts('relay.example.org'), env())).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});

describe('CA file precedence: --ca > PORTUNUS_CA > config', () => {
  it('picks the first one set, resolving relative paths against the working folder', async () => {
    await writeRaw(JSON.stringify({ ca: '/from/config.pem' }));
    expect(chooseCaFile('flag.pem', { ...env(), PORTUNUS_CA: 'env.pem' }, '/work')).toEqual({
      path: '/work/flag.pem',
      what: '--ca',
    });
    expect(chooseCaFile(undefined, { ...env(), PORTUNUS_CA: 'env.pem' }, '/work')).toEqual({
      path: '/work/env.pem',
      what: 'PORTUNUS_CA',
    });
    expect(chooseCaFile('', { ...env(), PORTUNUS_CA: '' }, '/work')).toEqual({
      path: '/from/config.pem',
      what: 'config "ca"',
    });
    expect(chooseCaFile(undefined, {}, '/work')).toBeUndefined();
  });
});
