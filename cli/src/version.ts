/** The CLI's version: set by the bundler (scripts/build.mjs), read from cli/package.json when run from source. */
import { readFileSync } from 'node:fs';

declare const PORTUNUS_VERSION: string | undefined;

function sourceVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export const VERSION = typeof PORTUNUS_VERSION === 'string' ? PORTUNUS_VERSION : sourceVersion();
export const AGENT = `portunus/${VERSION}`;
