/**
 * Bundles a module for the browser with esbuild, in memory: one ES module, `platform: 'browser'`, so any Node
 * built-in anywhere in the import graph fails the build (esbuild cannot resolve `node:crypto` for a browser). On top
 * of that the bundle is refused when a Node-only `*.node.ts` file or a Node built-in name shows up among its inputs
 * and imports, so a browser test proves what it claims even if an import were marked external.
 */
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const NODE_BUILTINS = new Set(builtinModules);

export interface BrowserBundle {
  /** The bundle, one ES module. */
  code: string;
  /** Every source file in the bundle, relative to the repository root. */
  inputs: string[];
  /** Every import in those files, as esbuild resolved it (source files relative to the repository root). */
  imports: string[];
}

/** Bundles `entry` (a path relative to the repository root) for the browser; rejects with esbuild's errors. */
export async function bundleForBrowser(entry: string): Promise<BrowserBundle> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  const imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports.map((i) => i.path));
  const nodeOnly = [...inputs.filter((path) => path.endsWith('.node.ts')), ...imports.filter(isNodeBuiltin)];
  if (nodeOnly.length > 0) {
    throw new Error(`the browser bundle of ${entry} pulls in Node-only code: ${nodeOnly.join(', ')}`);
  }
  const code = result.outputFiles[0]?.text;
  if (code === undefined) throw new Error(`esbuild wrote no bundle for ${entry}`);
  return { code, inputs, imports };
}

function isNodeBuiltin(path: string): boolean {
  return path.startsWith('node:') || NODE_BUILTINS.has(path) || NODE_BUILTINS.has(path.split('/')[0]!);
}
