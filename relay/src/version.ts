/** The portunus package version, for /healthz. */
import { readFileSync } from 'node:fs';

/**
 * Reads the version from the nearest package.json named "portunus-cli" above this module (the module sits at
 * relay/src/ when run from source and at dist/relay/src/ when built, so the distance differs).
 */
export function packageVersion(): string {
  let dir = new URL('.', import.meta.url);
  for (let i = 0; i < 5; i++) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8'));
      if (typeof pkg === 'object' && pkg !== null && 'name' in pkg && pkg.name === 'portunus-cli' && 'version' in pkg) {
        return String(pkg.version);
      }
    } catch {
      // No readable package.json at this level: keep walking up.
    }
    dir = new URL('..', dir);
  }
  return '0.0.0';
}
