/**
 * Questions asked on the terminal. They never hang a script: with no TTY to ask on, the caller gets a
 * NOT_INTERACTIVE error (exit 2) telling it which flag to pass instead.
 */
import type { Readable, Writable } from 'node:stream';
import { createError } from '@portunus/protocol/errors';
import { importModule } from '../esm-import.js';

export interface PromptIo {
  input: Readable & { isTTY?: boolean };
  output: Writable;
  signal?: AbortSignal;
}

export function canPrompt(io: PromptIo): boolean {
  return io.input.isTTY === true;
}

/** Reads one line; rejects with NOT_INTERACTIVE when stdin is not a terminal. */
export async function askLine(io: PromptIo, question: string, hint: string): Promise<string> {
  if (!canPrompt(io)) throw createError('NOT_INTERACTIVE', 'cannot ask: standard input is not a terminal', { hint });
  // Loaded on first use, not at start-up: most runs never ask anything.
  const readline = (await importModule('node:readline')) as typeof import('node:readline');
  const rl = readline.createInterface({ input: io.input, output: io.output, terminal: true });
  try {
    return await new Promise<string>((resolve, reject) => {
      const onAbort = () => reject(createError('CANCELLED', 'cancelled'));
      io.signal?.addEventListener('abort', onAbort, { once: true });
      rl.question(question, (answer) => {
        io.signal?.removeEventListener('abort', onAbort);
        resolve(answer);
      });
      rl.once('close', () => reject(createError('CANCELLED', 'no answer (input closed)')));
    });
  } finally {
    rl.close();
  }
}

/** `question [y/N]`: only an explicit yes accepts. */
export async function confirm(io: PromptIo, question: string, hint: string): Promise<boolean> {
  const answer = await askLine(io, `${question} [y/N] `, hint);
  return /^\s*y(es)?\s*$/i.test(answer);
}
