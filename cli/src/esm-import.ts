/**
 * import() for what the CLI loads on use as an ES module: werift, node-datachannel, and the builtins it loads late.
 * cli/bin/portunus runs the bundle as a script read from V8's code cache, and Node 20 cannot give such a script a
 * working import(): functions read from a cache lose the script's dynamic-import callback ("A dynamic import
 * callback was not specified"), and vm's USE_MAIN_CONTEXT_DEFAULT_LOADER prints an ExperimentalWarning. So the bin,
 * a module Node loaded itself, lends its own import() under LENT_IMPORT; run any other way (`node cli/dist/main.cjs`,
 * tsx, the tests), the bundle's import() works and is used.
 */
const LENT_IMPORT = Symbol.for('portunus.import');

type Import = (specifier: string) => Promise<unknown>;

export function importModule(specifier: string): Promise<unknown> {
  const lent = (globalThis as { [LENT_IMPORT]?: Import })[LENT_IMPORT];
  return lent !== undefined ? lent(specifier) : import(specifier);
}
