'use strict';
// Preloaded (`node --require`) into a CLI process by the start-up tests: at exit, writes to fd 3 (when open) what the
// process loaded: Node's public builtins, the CommonJS files it required, and whether the script cli/bin/portunus
// compiled (the bundle) was given a code cache and whether V8 took it.
const { writeSync } = require('node:fs');
const vm = require('node:vm');

let bundle;
let cacheGiven = false;
vm.Script = class extends vm.Script {
  constructor(code, options) {
    super(code, options);
    if (bundle === undefined) {
      bundle = this;
      cacheGiven = options?.cachedData !== undefined;
    }
  }
};
process.on('exit', () => {
  const report = {
    builtins: process.moduleLoadList
      .filter((m) => m.startsWith('NativeModule ') && !m.startsWith('NativeModule internal/'))
      .map((m) => m.slice('NativeModule '.length)),
    required: Object.keys(require.cache),
    cacheGiven,
    cacheRejected: bundle?.cachedDataRejected ?? null,
  };
  try {
    writeSync(3, JSON.stringify(report));
  } catch {
    // No fd 3: run by hand.
  }
});
