/**
 * The config file: `$XDG_CONFIG_HOME/portunus/config.json`, else `~/.config/portunus/config.json` — both taken
 * from the environment passed in, never from process globals, so tests point it at a temporary folder. A missing
 * file is an empty config; a file that is not a JSON object, is too big or holds an invalid setting is a BAD_CONFIG
 * error naming the file (exit 2). Writes go to a temporary file that is synced and renamed into place, so a crash
 * never leaves half a config behind.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { createError, PortunusError } from '@portunus/protocol/errors';
import { secureRandomBytes, type RandomBytes } from '@portunus/protocol/bytes';
import { importModule } from '../esm-import.js';
import { tempSibling } from '../files/temp-path.js';
import { badConfig, checkConfig, type PortunusConfig } from './settings.js';

/** Larger than any config `portunus config` writes by far; anything bigger is not ours. */
export const MAX_CONFIG_BYTES = 64 * 1024;

export interface ConfigFile {
  path: string;
  /** Everything in the file, unknown keys included (they are written back untouched). */
  raw: Record<string, unknown>;
  config: PortunusConfig;
}

/** Where the config file lives, or undefined when the environment names no home or config folder. */
export function configPath(env: NodeJS.ProcessEnv): string | undefined {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdg !== undefined && xdg !== '' && isAbsolute(xdg)) return join(xdg, 'portunus', 'config.json');
  const home = env.HOME || env.USERPROFILE;
  if (home !== undefined && home !== '' && isAbsolute(home)) return join(home, '.config', 'portunus', 'config.json');
  return undefined;
}

/** Reads and checks the config file; a missing file (or no home folder at all) is an empty config. */
export function readConfigFile(env: NodeJS.ProcessEnv): ConfigFile | undefined {
  const path = configPath(env);
  if (path === undefined) return undefined;
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_CONFIG_BYTES) throw badConfig(path, `larger than ${MAX_CONFIG_BYTES / 1024} KiB`);
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof PortunusError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path, raw: {}, config: {} };
    throw badConfig(path, `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw badConfig(path, 'not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw badConfig(path, 'not a JSON object');
  const config = checkConfig(raw as Record<string, unknown>, path);
  if (config instanceof PortunusError) throw config;
  return { path, raw: raw as Record<string, unknown>, config };
}

/** The checked settings ({} when there is no file). */
export function loadConfig(env: NodeJS.ProcessEnv): PortunusConfig {
  return readConfigFile(env)?.config ?? {};
}

/** ICE servers from the config file, for the WebRTC transport's defaults (--ice-server adds to or replaces them). */
export function configuredIceServers(env: NodeJS.ProcessEnv): string[] {
  return loadConfig(env).iceServers ?? [];
}

/** Writes `raw` atomically (temp file, fsync, rename), creating the folder (mode 0700) and the file (0600). */
export async function writeConfigFile(
  env: NodeJS.ProcessEnv,
  raw: Record<string, unknown>,
  random: RandomBytes = secureRandomBytes,
): Promise<string> {
  const path = configPath(env);
  if (path === undefined) {
    throw createError('BAD_CONFIG', 'cannot tell where the config file goes: neither HOME nor XDG_CONFIG_HOME is set', {
      hint: 'Set HOME (or XDG_CONFIG_HOME) to an absolute path.',
    });
  }
  const dir = dirname(path);
  const temp = tempSibling(path, random, 'part');
  // Loaded here, not at start-up: node:fs/promises brings the stream modules, which `portunus --help` does not need.
  const { mkdir, open, rename, rm } = (await importModule('node:fs/promises')) as typeof import('node:fs/promises');
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(JSON.stringify(raw, null, 2) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw createError(
      'FILE_ERROR',
      `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { cause: err },
    );
  }
  return path;
}
