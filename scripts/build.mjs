#!/usr/bin/env node
// `npm run build`: bundles each entry point with esbuild. The workspace packages (@portunus/protocol, @portunus/client,
// @portunus/relay) are bundled in; every npm dependency stays external, installed beside the bundle as usual. Outputs:
//   cli/dist/     the CLI (`portunus`; the relay code is a lazy chunk, loaded only when a relay starts)
//   relay/dist/   the standalone relay (`portunus-relay`, the container image's command)
//   dist/bench/   the benchmarks (`npm run bench`), each runnable on its own
//   packages/web/dist/   the page the relay serves: one browser bundle (app.js) with everything in it, its HTML and CSS,
//                 and its service worker (sw.js, served at the root so that its scope is the whole page)
//   cli/dist/page/, relay/dist/page/   a copy of the page (no source maps) beside each relay bundle, which serves it
//                 from `page/` next to itself (relay/src/page-files.ts)
import { build } from 'esbuild';
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifests = [
  'package.json',
  'packages/protocol/package.json',
  'packages/client/package.json',
  'packages/web/package.json',
  'relay/package.json',
  'cli/package.json',
].map((p) => JSON.parse(readFileSync(join(root, p), 'utf8')));
const external = [
  ...new Set(
    manifests.flatMap((m) =>
      ['dependencies', 'optionalDependencies', 'devDependencies'].flatMap((k) => Object.keys(m[k] ?? {})),
    ),
  ),
].filter((name) => !name.startsWith('@portunus/'));

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // Bare imports of npm packages stay imports (with subpaths: '@noble/hashes/sha2.js').
  external: external.flatMap((name) => [name, `${name}/*`]),
  logLevel: 'warning',
  // One version for the CLI and the relay they embed: the published package's.
  define: { PORTUNUS_VERSION: JSON.stringify(manifests.find((m) => m.name === 'portunus-cli').version) },
  // ESM output that still needs require() for the few CommonJS paths of external packages esbuild leaves alone.
  banner: {
    js: "import { createRequire as __portunusRequire } from 'node:module'; const require = __portunusRequire(import.meta.url);",
  },
};

const benches = existsSync(join(root, 'bench'))
  ? readdirSync(join(root, 'bench'))
      .filter((name) => name.endsWith('.ts'))
      .map((name) => join('bench', name))
  : [];

// `node scripts/build.mjs relay` builds the relay alone (the container image has nothing else).
const only = process.argv[2];
const webDir = join(root, 'packages/web');
const targets = {
  cli: { entryPoints: { main: 'cli/src/main.ts' }, outdir: 'cli/dist', splitting: true, page: true },
  relay: { entryPoints: { main: 'relay/src/main.ts' }, outdir: 'relay/dist', page: true },
  bench: { entryPoints: benches, outdir: 'dist/bench' },
  // The page bundles its dependencies (noble included): a browser has no node_modules to import from. The worker's
  // bundle has no imports or exports left, so it also loads as a classic worker script.
  web: {
    entryPoints: { app: 'packages/web/src/main.ts', sw: 'packages/web/src/sw.ts' },
    outdir: 'packages/web/dist',
    platform: 'browser',
    target: 'es2022',
    external: [],
    banner: {},
    // Copied when present (the icon and the manifest are optional); the relay serves a fixed list (page-files.ts).
    assets: ['index.html', 'app.css', 'icon.svg', 'manifest.webmanifest'],
  },
};
// A relay serves the page, so building one (`node scripts/build.mjs relay`) builds the page too.
const chosen = Object.entries(targets).filter(
  ([name]) => only === undefined || name === only || (name === 'web' && targets[only]?.page === true),
);
if (chosen.length === 0) throw new Error(`unknown build target ${only}: expected ${Object.keys(targets).join(', ')}`);
await Promise.all(
  chosen.map(async ([, { assets = [], page, ...target }]) => {
    rmSync(join(root, target.outdir), { recursive: true, force: true });
    await build({ ...common, ...target, outdir: join(root, target.outdir), absWorkingDir: root });
    for (const name of assets.filter((a) => existsSync(join(webDir, 'src', a)))) {
      copyFileSync(join(webDir, 'src', name), join(root, target.outdir, name));
    }
  }),
);
for (const [, target] of chosen.filter(([, t]) => t.page === true)) {
  cpSync(join(webDir, 'dist'), join(root, target.outdir, 'page'), {
    recursive: true,
    filter: (source) => !source.endsWith('.map'),
  });
}
