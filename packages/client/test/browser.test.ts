/**
 * The client core is the page's as much as the CLI's: it bundles for the browser (esbuild, `platform: 'browser'`)
 * with no Node built-in anywhere in its import graph, and the bundle holds every one of its source files.
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleForBrowser } from '../../../test/browser/bundle.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

describe('the client core bundled for the browser', () => {
  it('bundles with no Node built-in, and holds every source file of the package', async () => {
    const bundle = await bundleForBrowser('packages/client/src/index.ts');
    expect(bundle.imports.filter((path) => path.startsWith('node:'))).toEqual([]);
    const sources = await readdir(join(ROOT, 'packages/client/src'));
    const inputs = bundle.inputs.filter((path) => path.startsWith('packages/client/src/'));
    expect(inputs.map((path) => path.slice('packages/client/src/'.length)).sort()).toEqual(sources.sort());
  });
});
