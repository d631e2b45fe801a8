/**
 * Reads a regular file while checking it does not change underneath: the bytes read must equal the size seen at
 * open, nothing may follow them, and size and mtime must be the same at the end. The end check runs BEFORE the
 * last chunk is handed out, so a changed file is reported before its final frame could be sent.
 */
import type { FileHandle } from 'node:fs/promises';
import { createError, type PortunusError } from '@portunus/protocol';
import { fileError } from './fs-errors.js';
import { allocChunk } from './rechunk.js';
import { quoteForTerminal } from './sanitize.js';

/** What "unchanged" means: same size and same modification time (nanoseconds, where the file system has them). */
export interface FileIdentity {
  size: number;
  mtimeNs: bigint;
  isFile: boolean;
}

export async function identityOf(handle: FileHandle, path: string): Promise<FileIdentity> {
  try {
    const st = await handle.stat({ bigint: true });
    return { size: Number(st.size), mtimeNs: st.mtimeNs, isFile: st.isFile() };
  } catch (err) {
    throw fileError(err, 'read', path);
  }
}

export function fileChanged(path: string, detail: string): PortunusError {
  return createError('FILE_CHANGED', `${quoteForTerminal(path, 400)} changed while it was being sent (${detail})`);
}

async function readFully(handle: FileHandle, into: Uint8Array, position: number, path: string): Promise<void> {
  let offset = 0;
  while (offset < into.length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(into, offset, into.length - offset, position + offset));
    } catch (err) {
      throw fileError(err, 'read', path);
    }
    if (bytesRead === 0) throw fileChanged(path, `it ended after ${position + offset} bytes`);
    offset += bytesRead;
  }
}

async function checkUnchanged(handle: FileHandle, expected: FileIdentity, path: string): Promise<void> {
  const probe = new Uint8Array(1);
  let extra: number;
  try {
    ({ bytesRead: extra } = await handle.read(probe, 0, 1, expected.size));
  } catch (err) {
    throw fileError(err, 'read', path);
  }
  if (extra > 0) throw fileChanged(path, `it grew beyond ${expected.size} bytes`);
  const now = await identityOf(handle, path);
  if (now.size !== expected.size) throw fileChanged(path, `size ${expected.size} → ${now.size}`);
  if (now.mtimeNs !== expected.mtimeNs) throw fileChanged(path, 'modification time changed');
}

/**
 * Yields fresh chunks of exactly `chunkSize` bytes (the last shorter; none for an empty file), from byte `from` on
 * (a resume). One read runs ahead of the consumer, so the disk (libuv's thread pool) works while the caller hashes
 * and seals the previous chunk.
 */
export async function* readStableFile(
  handle: FileHandle,
  expected: FileIdentity,
  chunkSize: number,
  path: string,
  from = 0,
): AsyncGenerator<Uint8Array> {
  const readAt = (position: number): Promise<Uint8Array> => {
    const chunk = allocChunk(Math.min(chunkSize, expected.size - position));
    const reading = readFully(handle, chunk, position, path).then(() => chunk);
    // Awaited below or in `finally`; this only keeps an early return from reporting it as unhandled.
    reading.catch(() => undefined);
    return reading;
  };
  let position = from;
  let ahead: Promise<Uint8Array> | undefined = readAt(from);
  try {
    for (;;) {
      const chunk: Uint8Array = await ahead;
      ahead = undefined;
      position += chunk.length;
      if (position === expected.size) {
        await checkUnchanged(handle, expected, path);
        if (chunk.length > 0) yield chunk;
        return;
      }
      ahead = readAt(position);
      yield chunk;
    }
  } finally {
    // A consumer that stops early must not leave a read running on a handle it is about to close.
    if (ahead !== undefined) await ahead.catch(() => undefined);
  }
}
