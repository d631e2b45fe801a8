/**
 * What every start of `portunus` loads before parsing its arguments, read from the build (cli/dist, `npm run build`):
 * the static imports of main.js and of the chunks it imports statically. Help, --version and usage errors need
 * commander and the option definitions, nothing else; the protocol's crypto (@noble/*), the transports and the file
 * machinery are dynamic imports, loaded by the action that needs them. commander and @noble are bundled in
 * (scripts/build.mjs, BUNDLED_IN_CLI), so they are found by what the files hold rather than by what they import. A
 * static import of the protocol's barrel (`@portunus/protocol` rather than a subpath such as
 * `@portunus/protocol/errors`) in a module the options reach brings the curve back into the start-up closure.
 * Issue #18: start-up time.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './e2e/harness.js';

/** Static `import … from "x"` and `import "x"` (not `import("x")`) of one bundled file. */
function staticImports(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["'];?$/gm)) found.push(m[1]!);
  for (const m of source.matchAll(/^import\s*["']([^"']+)["'];?$/gm)) found.push(m[1]!);
  return found;
}

/** Every bare or builtin specifier reached from `entry` through static imports of bundled files. */
function startupClosure(entry: string): { files: string[]; external: Set<string> } {
  const files: string[] = [];
  const external = new Set<string>();
  const todo = [entry];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (files.includes(file)) continue;
    files.push(file);
    for (const spec of staticImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('./') || spec.startsWith('../')) todo.push(join(dirname(file), spec));
      else external.add(spec);
    }
  }
  return { files, external };
}

/** Builtins the option definitions use, all cheap (no streams, no crypto, no child processes of our own). */
const CHEAP_BUILTINS = new Set(['node:fs', 'node:path', 'node:module', 'node:os', 'node:net', 'node:url']);

describe('start-up loads only what parsing the arguments needs', () => {
  const { files, external } = startupClosure(join(ROOT, 'cli/dist/main.js'));

  it('no npm package is imported at start-up (commander and @noble are bundled)', () => {
    expect([...external].filter((spec) => !spec.startsWith('node:'))).toEqual([]);
  });

  it('builtins loaded at start-up are the cheap ones (node:crypto, fs/promises, v8, streams are loaded on use)', () => {
    expect([...external].filter((spec) => spec.startsWith('node:') && !CHEAP_BUILTINS.has(spec))).toEqual([]);
  });

  it('the curve and the hashes (@noble, bundled) are not among them', () => {
    const heavy = files.filter((f) => /ristretto255|sha512/i.test(readFileSync(f, 'utf8')));
    expect(heavy.map((f) => f.slice(ROOT.length + 1))).toEqual([]);
  });

  it('the closure is small: main.js and a few shared chunks', () => {
    // Today 11 files, ~240 kB with commander (~110 kB); a jump means a heavy static import.
    const bytes = files.reduce((sum, f) => sum + readFileSync(f).length, 0);
    expect(bytes).toBeLessThan(320_000);
  });
});
