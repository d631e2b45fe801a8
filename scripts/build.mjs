#!/usr/bin/env node
// `npm run build`: bundles each entry point with esbuild. The workspace packages (@portunus/protocol, @portunus/client,
// @portunus/relay) are bundled in; every npm dependency stays external, installed beside the bundle as usual (but
// the few the CLI bundles: BUNDLED_IN_CLI). Outputs:
//   cli/dist/     the CLI (`portunus`): main.cjs, one CommonJS bundle (the relay's code in it runs only when a relay
//                 starts), and the V8 code cache cli/bin/portunus loads it from (scripts/code-cache.mjs)
//   relay/dist/   the standalone relay (`portunus-relay`, the container image's command)
//   dist/bench/   the benchmarks (`npm run bench`), each runnable on its own
//   packages/web/dist/   the page the relay serves: one browser bundle (app.js) with everything in it, its HTML and CSS,
//                 and its service worker (sw.js, served at the root so that its scope is the whole page)
//   cli/dist/page/, relay/dist/page/   a copy of the page (no source maps) beside each relay bundle, which serves it
//                 from `page/` next to itself (relay/src/page-files.ts)
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
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
  // Bare imports of npm packages stay imports (with subpaths: '@noble/hashes/sha2.js'), but for the CLI's commander.
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
// Bundled into the CLI, which loads them on every start or transfer (issue #18), though they stay dependencies:
// - commander: bundled, it is read from the code cache with the rest. (When the CLI was ES modules, Node scanned the
//   external package for named exports and resolved it for every chunk importing it: ~9 ms of the ~95 ms `portunus
//   --help` took, 21 alternating runs.)
// - @noble/curves and @noble/hashes: ed25519.js built every curve and hasher it exports at import (Ed25519ph, X25519,
//   the FROST suites, ...); bundled, esbuild keeps only ristretto255 and its hasher, SHA-2, HMAC and HKDF. Importing
//   what CPace and the key schedule use took 24-25 ms from node_modules and 6.5-6.9 ms bundled (5 alternating runs).
/** The CLI bundle's first line until the build hashes the bundle into it (same length: the source map stays right). */
const BUILD_ID = `// build ${'0'.repeat(16)}`;
const BUNDLED_IN_CLI = ['commander', '@noble/curves', '@noble/hashes'];
const targets = {
  // The CLI bundles what every start or transfer loads (BUNDLED_IN_CLI), as one CommonJS file: cli/bin/portunus
  // compiles it with the V8 code cache this build makes (scripts/code-cache.mjs), which Node 20 offers only for
  // scripts, not for ES modules. The modules reached only through import() (the relay, the transfers, the curve)
  // still run their top-level code when first imported: esbuild wraps each in a lazy init.
  cli: {
    entryPoints: { main: 'cli/src/main.ts' },
    outdir: 'cli/dist',
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    define: { ...common.define, 'import.meta.url': 'importMetaUrl' },
    inject: ['scripts/import-meta-url.mjs'],
    // The first line names the build (BUILD_ID, filled in once the bundle is written): cli/bin/portunus finds the
    // code cache by it. Nothing else goes before "use strict".
    banner: { js: BUILD_ID },
    page: true,
    codeCache: true,
    external: external.filter((name) => !BUNDLED_IN_CLI.includes(name)).flatMap((name) => [name, `${name}/*`]),
  },
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
// Each target is built beside its output folder and swapped in at the end: the test suite runs `npm pack` (whose
// prepack builds) while other tests start the CLI from cli/dist and relays from relay/dist, so an output folder must
// never be seen half-written or missing (under load that window was seconds long).
const staging = (outdir) => join(root, `${outdir}.building-${process.pid}`);
let cacheToMake = false;
// Only the CLI has a code cache; the relay's image copies this file alone (Dockerfile.relay).
const cacheTools = chosen.some(([, target]) => target.codeCache === true)
  ? await import('./code-cache.mjs')
  : undefined;
await Promise.all(
  chosen.map(async ([, { assets = [], page, codeCache, ...target }]) => {
    const out = staging(target.outdir);
    rmSync(out, { recursive: true, force: true });
    await build({ ...common, ...target, outdir: out, absWorkingDir: root });
    if (codeCache) {
      stampBuildId(join(out, 'main.cjs'));
      if (!cacheTools.keepCodeCache(join(root, target.outdir), out)) cacheToMake = true;
    }
    for (const name of assets.filter((a) => existsSync(join(webDir, 'src', a)))) {
      copyFileSync(join(webDir, 'src', name), join(out, name));
    }
  }),
);
/** Replaces BUILD_ID's zeros with the start of the bundle's SHA-256: a rebuild of the same sources has the same id. */
function stampBuildId(file) {
  const text = readFileSync(file, 'utf8');
  if (!text.startsWith(BUILD_ID)) throw new Error(`${file} does not start with its build id line`);
  const id = createHash('sha256').update(text).digest('hex').slice(0, 16);
  writeFileSync(file, `// build ${id}${text.slice(BUILD_ID.length)}`);
}

// The page this build made, else the one built before.
const pageDir = chosen.some(([name]) => name === 'web') ? staging('packages/web/dist') : join(webDir, 'dist');
for (const [, target] of chosen.filter(([, t]) => t.page === true)) {
  cpSync(pageDir, join(staging(target.outdir), 'page'), {
    recursive: true,
    filter: (source) => !source.endsWith('.map'),
  });
}
for (const [, { outdir }] of chosen) {
  const final = join(root, outdir);
  const old = `${final}.old-${process.pid}`;
  if (existsSync(final)) renameSync(final, old);
  renameSync(staging(outdir), final);
  rmSync(old, { recursive: true, force: true });
}
// The code cache is made once the CLI is in place (cli/bin/portunus runs cli/dist): CLIs started meanwhile compile.
if (cacheToMake) await cacheTools.makeCodeCache(root);
