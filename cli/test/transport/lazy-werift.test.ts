/**
 * werift costs ~450 ms to import, so it is loaded only when a direct connection is tried: no module of the CLI may
 * import it statically (type-only imports are erased), and exactly one place imports it dynamically (the ESM build,
 * which is the one patches/ changes).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('werift is loaded lazily', () => {
  const files = sources(SRC).map((path) => ({ path, text: readFileSync(path, 'utf8') }));

  it('has no static value import anywhere in the CLI', () => {
    const offenders = files
      .filter(({ text }) => /^import\s+(?!type\b)[^;]*\sfrom\s+['"]werift['"]/m.test(text))
      .map((f) => f.path);
    expect(offenders).toEqual([]);
  });

  it('is imported dynamically in one place only, and loaded only when a direct connection is attempted', () => {
    const rel = (f: { path: string }) => f.path.slice(SRC.length + 1);
    const dynamic = files.filter(({ text }) => /\bimport(?:Module)?\(\s*['"]werift['"]\s*\)/.test(text)).map(rel);
    expect(dynamic).toEqual(['transport/werift.ts']);
    const loaders = files.filter(({ text }) => /\bloadWerift\(\)/.test(text)).map(rel);
    expect(loaders.sort()).toEqual(['transport/webrtc-connect.ts', 'transport/werift.ts']);
  });

  it('is never required: the CommonJS build is not the one patches/ changes', () => {
    const offenders = files.filter(({ text }) => /\brequire\w*\([^)]*['"]werift['"]/.test(text)).map((f) => f.path);
    expect(offenders).toEqual([]);
  });
});
