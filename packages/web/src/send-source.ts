/**
 * What the person chose to send, as the session's offer and data: one file as a `file` offer streamed from disk,
 * several as a `folder` offer whose tar is written as it goes (archive/tar-writer.ts), a message as a `text` offer
 * (no data stream). The checks here fail before any network traffic, as the CLI's do.
 */
import { createError, MAX_TEXT_BYTES, PortunusError, toPortunusError } from '@portunus/protocol';
import { rechunk, safeComponentName } from '@portunus/client';
import { planTar, writeTar } from './archive/tar-writer.js';
import { blobChunks } from './file-chunks.js';

/** The folder several picked files travel in (the receiver sees this name). */
export const FOLDER_NAME = 'files';
import type { SendSource } from './send-flow.js';

export function fileSource(file: File): SendSource | PortunusError {
  const name = safeComponentName(file.name);
  if (name instanceof PortunusError) return name;
  return { offer: { kind: 'file', name, size: file.size }, chunks: (chunkBytes) => blobChunks(file, chunkBytes) };
}

/** Several files (a folder picked whole keeps its layout, by each file's path below it) as one folder offer. */
export function filesSource(files: readonly File[]): SendSource | PortunusError {
  const inputs = files.map((file) => ({
    path: file.webkitRelativePath.split('/').slice(1).join('/') || file.name,
    size: file.size,
    mtime: file.lastModified / 1000,
    stream: () => file.stream(),
  }));
  const root = files[0]?.webkitRelativePath.split('/')[0] || FOLDER_NAME;
  try {
    const plan = planTar(root, inputs);
    return { offer: plan.offer, chunks: (chunkBytes) => rechunk(writeTar(plan), chunkBytes) };
  } catch (err) {
    return toPortunusError(err);
  }
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
