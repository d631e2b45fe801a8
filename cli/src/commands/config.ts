/** `portunus config get|set|unset|path`: the settings file (cli/src/config). Values are checked before writing. */
import { Command } from 'commander';
import { createError, toPortunusError } from '@portunus/protocol/errors';
import { ExitCode, exitCodeOf } from '../ui/error-guide.js';
import { configPath, readConfigFile, writeConfigFile } from '../config/config-file.js';
import { isSettingKey, SETTINGS, type SettingKey } from '../config/settings.js';
import { Reporter } from '../ui/reporter.js';
import type { Io } from './common.js';

interface ConfigFlags {
  json?: boolean;
}

export function configCommand(io: Io): Command {
  const cmd = new Command('config').description('show or change settings (default relay, ICE servers)');
  cmd
    .command('get')
    .description('print one setting, or all of them')
    .argument('[key]', settingList())
    .option('--json', 'print JSON')
    .action((key: string | undefined, flags: ConfigFlags) => run(io, flags, () => get(io, key, flags)));
  cmd
    .command('set')
    .description('change a setting (iceServers takes one or more URIs)')
    .argument('<key>', settingList())
    .argument('<values...>', 'the new value')
    .action((key: string, values: string[]) => run(io, {}, () => set(io, key, values)));
  cmd
    .command('unset')
    .description('remove a setting (without a relay, send and receive use LAN mode)')
    .argument('<key>', settingList())
    .action((key: string) => run(io, {}, () => unset(io, key)));
  cmd
    .command('path')
    .description('print where the config file is')
    .action(() => run(io, {}, async () => void io.stdout.write(`${requirePath(io)}\n`)));
  cmd.addHelpText(
    'after',
    `
Settings:
${(Object.keys(SETTINGS) as SettingKey[]).map((k) => `  ${k.padEnd(11)} ${SETTINGS[k].description}`).join('\n')}

The file is $XDG_CONFIG_HOME/portunus/config.json, or ~/.config/portunus/config.json.
Relay precedence: --relay, then PORTUNUS_RELAY, then this file, else LAN mode (no relay needed on one network).

Examples:
  $ portunus config set relay wss://relay.example.org
  $ portunus config set iceServers stun:stun.example.org:3478
  $ portunus config get relay
  $ portunus config unset relay`,
  );
  return cmd;
}

function settingList(): string {
  return `setting: ${Object.keys(SETTINGS).join(' or ')}`;
}

function settingKey(key: string): SettingKey {
  if (!isSettingKey(key))
    throw createError('USAGE', `unknown setting '${key.slice(0, 64)}'`, {
      hint: `Settings: ${Object.keys(SETTINGS).join(', ')}.`,
    });
  return key;
}

function requirePath(io: Io): string {
  const path = configPath(io.env);
  if (path === undefined)
    throw createError('BAD_CONFIG', 'neither HOME nor XDG_CONFIG_HOME is set', {
      hint: 'Set HOME (or XDG_CONFIG_HOME) to an absolute path.',
    });
  return path;
}

async function get(io: Io, key: string | undefined, flags: ConfigFlags): Promise<void> {
  const config = readConfigFile(io.env)?.config ?? {};
  if (key === undefined) {
    if (flags.json) return void io.stdout.write(`${JSON.stringify(config)}\n`);
    for (const k of Object.keys(SETTINGS) as SettingKey[]) {
      const value = config[k];
      if (value !== undefined) io.stdout.write(`${k} = ${Array.isArray(value) ? value.join(' ') : value}\n`);
    }
    return;
  }
  const value = config[settingKey(key)];
  if (flags.json) return void io.stdout.write(`${JSON.stringify(value ?? null)}\n`);
  if (value === undefined) return void io.stderr.write(`${key} is not set\n`);
  io.stdout.write(`${Array.isArray(value) ? value.join('\n') : value}\n`);
}

async function set(io: Io, keyText: string, values: string[]): Promise<void> {
  const key = settingKey(keyText);
  const value = SETTINGS[key].fromArgs(values);
  // Read (and so check) the current file first: a corrupt one is reported, not silently replaced.
  const raw = readConfigFile(io.env)?.raw ?? {};
  const path = await writeConfigFile(io.env, { ...raw, [key]: value });
  io.stderr.write(`${key} set (${path})\n`);
}

async function unset(io: Io, keyText: string): Promise<void> {
  const key = settingKey(keyText);
  const file = readConfigFile(io.env);
  if (file === undefined || file.raw[key] === undefined) return void io.stderr.write(`${key} was not set\n`);
  const { [key]: _removed, ...rest } = file.raw;
  const path = await writeConfigFile(io.env, rest);
  io.stderr.write(`${key} removed (${path})\n`);
}

async function run(io: Io, flags: ConfigFlags, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    process.exitCode = ExitCode.OK;
  } catch (err) {
    const error = toPortunusError(err);
    new Reporter({
      mode: flags.json ? 'json' : 'human',
      jsonStream: io.stdout,
      stderr: io.stderr,
      verbose: false,
      color: false,
    }).error(error);
    process.exitCode = exitCodeOf(error);
  }
}
