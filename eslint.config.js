// ESLint's job here is the shape of the house (STYLE.md, "Layers point one way"): the protocol core depends on
// nothing of the relay, the client core or the CLI, and on no Node built-in (but its *.node.ts files); the client
// core (the CLI's and the page's) depends on the protocol alone and on no Node built-in; the relay never imports a
// client; every package reaches another only through its name (@portunus/protocol, @portunus/client,
// @portunus/relay), never by a relative path into its sources. Type errors are tsc's, formatting prettier's.
import tseslint from 'typescript-eslint';

const NAMES = {
  'packages/protocol': '@portunus/protocol',
  'packages/client': '@portunus/client',
  'packages/web': '@portunus/web',
  relay: '@portunus/relay',
};
const intoSources = (pkg) => ({
  group: [`**/${pkg}/src/**`, `../**/${pkg}/**`, `../**/${pkg.split('/').pop()}/src/**`],
  message: `Import ${NAMES[pkg]} by its name, not by a path into its sources.`,
});
const noCli = {
  group: ['portunus-cli', 'portunus-cli/**', '**/cli/src/**', '**/cli/test/**'],
  message: 'Nothing below the CLI imports the CLI.',
};
const noRelay = {
  group: ['@portunus/relay', '@portunus/relay/**', '**/relay/src/**'],
  message: 'The protocol core knows nothing of the relay.',
};
const noClient = {
  group: ['@portunus/client', '@portunus/client/**', '**/packages/client/**'],
  message: 'The protocol core and the relay know nothing of the client core.',
};
const nodeOnly = (what) => ({
  group: ['node:*', 'ws', 'werift', 'node-datachannel'],
  message: `${what} is browser-safe: Node-only code goes in a *.node.ts file of the protocol, or in the CLI.`,
});

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['packages/protocol/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noCli, noRelay, noClient] }] },
  },
  {
    files: ['packages/protocol/src/**/*.ts'],
    ignores: ['packages/protocol/src/**/*.node.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [noCli, noRelay, noClient, nodeOnly('The protocol core')],
        },
      ],
    },
  },
  {
    files: ['packages/client/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [noCli, noRelay, intoSources('packages/protocol')] }],
    },
  },
  {
    files: ['packages/client/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [noCli, noRelay, intoSources('packages/protocol'), nodeOnly('The client core')] },
      ],
    },
  },
  {
    files: ['packages/web/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [noCli, noRelay, intoSources('packages/protocol'), intoSources('packages/client')] },
      ],
    },
  },
  {
    files: ['packages/web/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            noCli,
            noRelay,
            intoSources('packages/protocol'),
            intoSources('packages/client'),
            nodeOnly('The page'),
          ],
        },
      ],
    },
  },
  {
    // The page's end-to-end tests (and its relay client's) run the real relay and real CLI processes through the
    // CLI's e2e harness; the layering above is for the code they test.
    files: ['packages/web/test/**/*.ts', 'packages/client/test/browser-relay-client.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [intoSources('packages/protocol'), intoSources('packages/client'), intoSources('relay')] },
      ],
    },
  },
  {
    files: ['relay/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noCli, noClient, intoSources('packages/protocol')] }] },
  },
  {
    files: ['cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [intoSources('packages/protocol'), intoSources('packages/client'), intoSources('relay')] },
      ],
    },
  },
);
