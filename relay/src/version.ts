/** The relay's version, for /healthz: set by the bundler (scripts/build.mjs), read from relay/package.json from source. */
import { readFileSync } from 'node:fs';

declare const PORTUNUS_VERSION: string | undefined;

export function packageVersion(): string {
  if (typeof PORTUNUS_VERSION === 'string') return PORTUNUS_VERSION;
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
