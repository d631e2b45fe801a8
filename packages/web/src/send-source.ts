/**
 * What the person chose to send, as the session's offer and data: one file as a `file` offer streamed from disk, a
 * message as a `text` offer (no data stream). The checks here fail before any network traffic, as the CLI's do.
 */
import { createError, MAX_TEXT_BYTES, PortunusError } from '@portunus/protocol';
import { safeComponentName } from '@portunus/client';
import { blobChunks } from './file-chunks.js';
import type { SendSource } from './send-flow.js';

export function fileSource(file: File): SendSource | PortunusError {
  const name = safeComponentName(file.name);
  if (name instanceof PortunusError) return name;
  return { offer: { kind: 'file', name, size: file.size }, chunks: (chunkBytes) => blobChunks(file, chunkBytes) };
}

export function textSource(text: string): SendSource | PortunusError {
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_TEXT_BYTES) {
    return createError('USAGE', `the message is ${bytes} bytes; a message may have at most ${MAX_TEXT_BYTES}`, {
      hint: 'Send a longer text as a file.',
    });
  }
  return { offer: { kind: 'text', text }, chunks: () => noChunks() };
}

/** A text offer has no data stream. */
async function* noChunks(): AsyncGenerator<Uint8Array> {}
