/**
 * Extra certificate authorities for a wss:// relay behind TLS with a private CA: a PEM file from `--ca`, else
 * `PORTUNUS_CA`, else the config file's `ca`. Its certificates are trusted in addition to Node's default roots,
 * never instead of them.
 *
 * Node drops NODE_EXTRA_CA_CERTS as soon as a connection names its own CAs, so when a CA file is given the
 * certificates NODE_EXTRA_CA_CERTS names are added here as well: a user who relies on it (say, for a company
 * proxy's CA) and passes --ca for the relay keeps both.
 */
import { resolve } from 'node:path';
import { loadConfig } from '../config/config-file.js';
import type { PortunusConfig } from '../config/settings.js';
import { readCaFile } from './ca-file.js';

/** Where the CA file comes from, its path resolved against the working folder. */
export interface CaChoice {
  path: string;
  /** `--ca`, `PORTUNUS_CA` or `config "ca"`, for messages. */
  what: string;
}

/**
 * `--ca` > `PORTUNUS_CA` > the config file's `ca`; undefined when none is set (empty values count as unset).
 * The config file is read only when neither flag nor environment decides.
 */
export function chooseCaFile(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
  readConfig: (env: NodeJS.ProcessEnv) => PortunusConfig = loadConfig,
): CaChoice | undefined {
  if (flag !== undefined && flag !== '') return { path: resolve(cwd, flag), what: '--ca' };
  const fromEnv = env.PORTUNUS_CA;
  if (fromEnv !== undefined && fromEnv !== '') return { path: resolve(cwd, fromEnv), what: 'PORTUNUS_CA' };
  const configured = readConfig(env).ca; // the loader has checked it is an absolute path
  return configured === undefined ? undefined : { path: configured, what: 'config "ca"' };
}

/**
 * The certificates to trust besides Node's default roots: the chosen CA file's, plus NODE_EXTRA_CA_CERTS's (see
 * the header). Undefined when no CA file is chosen: then Node's defaults, NODE_EXTRA_CA_CERTS included, apply as is.
 */
export function relayCaFrom(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string[] | undefined {
  const choice = chooseCaFile(flag, env, cwd);
  if (choice === undefined) return undefined;
  return [...readCaFile(choice.path, choice.what), ...nodeExtraCaCerts(env, cwd)];
}

/** NODE_EXTRA_CA_CERTS's certificates; none when it is unset or unusable (Node has warned about that at start). */
function nodeExtraCaCerts(env: NodeJS.ProcessEnv, cwd: string): string[] {
  const path = env.NODE_EXTRA_CA_CERTS;
  if (path === undefined || path === '') return [];
  try {
    return readCaFile(resolve(cwd, path), 'NODE_EXTRA_CA_CERTS');
  } catch {
    return [];
  }
}
