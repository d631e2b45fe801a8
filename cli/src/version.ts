/** The package version, read once from package.json (dist/cli/src → ../../../package.json). */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'portunus-cli' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next layout (compiled vs. source under vitest)
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();
export const AGENT = `portunus/${VERSION}`;
