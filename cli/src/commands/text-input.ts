/**
 * `send --text -`: the message comes from standard input, as with magic-wormhole's `--text -`. It must fit in an
 * offer (MAX_TEXT_BYTES) and be UTF-8; reading stops as soon as the limit is passed, so a large input costs no memory.
 */
import type { Readable } from 'node:stream';
import { createError } from '@portunus/protocol/errors';
import { MAX_TEXT_BYTES } from '@portunus/protocol/offer';

/** The value of --text that means "read standard input". */
export const TEXT_FROM_STDIN = '-';

export async function readTextInput(input: Readable, max = MAX_TEXT_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > max) {
      throw createError('USAGE', `the text on standard input is longer than ${max / 1024} KiB`, {
        hint: 'Send it as a file instead: portunus send - --name notes.txt < notes.txt',
      });
    }
    chunks.push(bytes);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw createError('USAGE', 'the text on standard input is not UTF-8', {
      hint: 'Send other data as a file instead: portunus send - --name data.bin < data.bin',
    });
  }
}
