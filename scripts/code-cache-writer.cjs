'use strict';
// Preloaded (`node --require`) into the CLI processes scripts/code-cache.mjs runs: at exit, writes the V8 code cache
// of the script cli/bin/portunus compiled (the bundle) to PORTUNUS_CODE_CACHE_OUT. The cache holds every function
// compiled by then, those read from an earlier cache included, so runs in turn add up to one cache.
const { renameSync, writeFileSync } = require('node:fs');
const vm = require('node:vm');

const out = process.env.PORTUNUS_CODE_CACHE_OUT;
let bundle;
vm.Script = class extends vm.Script {
  constructor(...args) {
    super(...args);
    bundle ??= this;
  }
};
process.on('exit', () => {
  if (bundle === undefined || out === undefined) return;
  writeFileSync(`${out}.${process.pid}`, bundle.createCachedData());
  renameSync(`${out}.${process.pid}`, out);
});
