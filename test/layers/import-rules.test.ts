/**
 * The layers point one way (eslint.config.js): these are the imports `npm run lint` must refuse, each checked
 * against the real configuration, so a rule that stops matching fails here rather than going quiet.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.message);
}

describe('import rules', () => {
  it.each([
    ['packages/protocol/src/x.ts', "import { startRelay } from '@portunus/relay';", /knows nothing of the relay/],
    [
      'packages/protocol/src/x.ts',
      "import { send } from '../../../cli/src/transfer/send.js';",
      /Nothing below the CLI/,
    ],
    ['packages/protocol/src/x.ts', "import { readFileSync } from 'node:fs';", /browser-safe/],
    ['packages/protocol/test/x.test.ts', "import { startRelay } from '@portunus/relay';", /knows nothing of the relay/],
    ['relay/src/x.ts', "import { send } from '../../cli/src/transfer/send.js';", /Nothing below the CLI/],
    [
      'relay/src/x.ts',
      "import { step } from '../../packages/protocol/src/session.js';",
      /@portunus\/protocol by its name/,
    ],
    ['cli/src/x.ts', "import { Rooms } from '../../relay/src/rooms.js';", /@portunus\/relay by its name/],
    ['cli/src/x.ts', "import { Link } from '../../packages/client/src/link.js';", /@portunus\/client by its name/],
    ['packages/client/src/x.ts', "import { createHash } from 'node:crypto';", /browser-safe/],
    ['packages/client/src/x.ts', "import WebSocket from 'ws';", /browser-safe/],
    ['packages/client/src/x.ts', "import { send } from '../../../cli/src/transfer/send.js';", /Nothing below the CLI/],
    ['packages/client/src/x.ts', "import { startRelay } from '@portunus/relay';", /knows nothing of the relay/],
    [
      'packages/client/src/x.ts',
      "import { step } from '../../protocol/src/session.js';",
      /@portunus\/protocol by its name/,
    ],
    ['packages/protocol/src/x.ts', "import { Link } from '@portunus/client';", /know nothing of the client core/],
    ['relay/src/x.ts', "import { Link } from '@portunus/client';", /know nothing of the client core/],
    [
      'cli/src/x.ts',
      "import { step } from '../../packages/protocol/src/session.js';",
      /@portunus\/protocol by its name/,
    ],
  ])('%s: %s', async (file, code, message) => {
    expect((await problems(file, code)).join('\n')).toMatch(message);
  });

  it.each([
    ['packages/protocol/src/aead.node.ts', "import { createCipheriv } from 'node:crypto';"],
    ['relay/src/x.ts', "import { step } from '@portunus/protocol';"],
    ['cli/src/x.ts', "import { startRelay } from '@portunus/relay';"],
    ['cli/src/x.ts', "import { send } from './transfer/send.js';"],
    ['cli/src/x.ts', "import { Link } from '@portunus/client';"],
    ['packages/client/src/x.ts', "import { step } from '@portunus/protocol';"],
  ])('allows %s: %s', async (file, code) => {
    expect(await problems(file, code)).toEqual([]);
  });
});
