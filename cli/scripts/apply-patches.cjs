#!/usr/bin/env node
// postinstall: applies patches/*.patch (the werift patch set, patches/README.md) to the werift npm actually
// installed, and never fails the install.
//
// Why not plain `patch-package` as the postinstall: patch-package only looks in ./node_modules of the directory it
// runs in. In this repository that is where werift is, but when portunus is itself installed as a dependency
// (`npx portunus-cli`, `npm i portunus-cli`) npm hoists werift next to it, so patch-package reports "werift is not present"
// and, with CI=true (it turns on --error-on-fail there), exits 1 and fails the user's whole install. An unpatched
// werift still works (it is ~2× slower), so a patch that cannot be applied is a note, never an error.
'use strict';
const { existsSync } = require('node:fs');
const { dirname, join, relative } = require('node:path');
const { spawnSync } = require('node:child_process');

const packageRoot = join(__dirname, '..');

/** Node's lookup for a bare specifier: <dir>/node_modules/<name> from `from` up to the file-system root. */
function findPackage(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function note(message) {
  process.stderr.write(`portunus: ${message}\n`);
}

function main() {
  const werift = findPackage('werift', packageRoot);
  if (werift === undefined)
    return note('werift is not installed; nothing to patch (direct WebRTC will be unavailable)');
  const patchPackage = findPackage('patch-package', packageRoot);
  if (patchPackage === undefined)
    return note('patch-package is not installed; werift stays unpatched (WebRTC works, slower)');
  // patch-package applies <appRoot>/<patch-dir>/werift+*.patch to <appRoot>/node_modules/werift, and only the patch
  // files in that directory: pointing it at ours leaves any patches of the application that installed us alone.
  const appRoot = dirname(dirname(werift));
  const patchDir = relative(appRoot, join(packageRoot, 'patches')) || '.';
  const run = spawnSync(process.execPath, [join(patchPackage, 'index.js'), '--patch-dir', patchDir], {
    cwd: appRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (run.status !== 0) note('the werift patch set did not apply; WebRTC works, slower (patches/README.md)');
}

try {
  main();
} catch (err) {
  note(`patching werift failed (${err && err.message}); WebRTC works, slower`);
}
process.exitCode = 0;
