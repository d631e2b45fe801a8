// ESLint's job here is the shape of the house (STYLE.md, "Layers point one way"): the protocol core depends on
// nothing of the relay or the CLI and on no Node built-in (but its *.node.ts files); the relay never imports the CLI;
// every package reaches another only through its name (@portunus/protocol, @portunus/relay), never by a relative
// path into its sources. Type errors are tsc's (npm run typecheck), formatting prettier's.
import tseslint from 'typescript-eslint';

const intoSources = (pkg) => ({
  group: [`**/${pkg}/src/**`, `../**/${pkg}/**`],
  message: `Import ${pkg === 'packages/protocol' ? '@portunus/protocol' : '@portunus/relay'} by its name, not by a path into its sources.`,
});
const noCli = {
  group: ['portunus-cli', 'portunus-cli/**', '**/cli/src/**', '**/cli/test/**'],
  message: 'Nothing below the CLI imports the CLI.',
};
const noRelay = {
  group: ['@portunus/relay', '@portunus/relay/**', '**/relay/src/**'],
  message: 'The protocol core knows nothing of the relay.',
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['packages/protocol/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noCli, noRelay] }] },
  },
  {
    files: ['packages/protocol/src/**/*.ts'],
    ignores: ['packages/protocol/src/**/*.node.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            noCli,
            noRelay,
            {
              group: ['node:*', 'ws', 'werift', 'node-datachannel'],
              message: 'The protocol core is browser-safe: Node-only code goes in a *.node.ts file.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['relay/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noCli, intoSources('packages/protocol')] }] },
  },
  {
    files: ['cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [intoSources('packages/protocol'), intoSources('relay')] }],
    },
  },
);
