/**
 * A received file (or stdin stream) goes to a `.part` beside the target (temp-path.ts), mode 0600 so no one
 * else can read it half-written; commit() syncs it, sets its final mode and moves it into place.
 */
import { constants } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { createError, PortunusError } from '@portunus/protocol';
import { fileError } from './fs-errors.js';
import { fileModeFor } from './offer.js';
import { placeFile, syncParent } from './place.js';
import type { ResolvedSinkOptions, Sink } from './sink.js';
import { tempSibling } from './temp-path.js';

/** O_EXCL: never open something already there; O_NOFOLLOW: never through a planted link. */
export const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/**
 * Bytes handed to the disk but not yet written, above which write() waits: enough for the disk (libuv's thread
 * pool) to work while the next frames are opened, small enough to bound memory.
 */
export const WRITE_BEHIND_BYTES = 2 * 1024 * 1024;

export interface FileShape {
  /** Exact size for file offers; undefined for streams. */
  limit: number | undefined;
  executable: boolean;
}

export async function openFileSink(
  path: string,
  replace: boolean,
  shape: FileShape,
  opts: ResolvedSinkOptions,
): Promise<Sink> {
  const temp = tempSibling(path, opts.random, 'part');
  let handle: FileHandle;
  try {
    handle = await open(temp, CREATE_FLAGS, 0o600);
  } catch (err) {
    throw fileError(err, 'create', temp);
  }
  let received = 0;
  let state: 'open' | 'committed' | 'failed' = 'open';
  let failure: PortunusError | undefined;
  // Writes run one after another (no position given: each appends where the last ended), behind the caller.
  let writing: Promise<void> = Promise.resolve();
  let unwritten = 0;
  const settled: (() => void)[] = [];

  const discard = async (): Promise<void> => {
    await writing;
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
  };
  const fail = async (err: unknown, action: string): Promise<never> => {
    failure ??= fileError(err, action, path);
    if (state === 'open') {
      state = 'failed';
      await discard();
    }
    throw failure;
  };
  const ready = (): void => {
    if (failure !== undefined) throw failure;
    if (state !== 'open') throw createError('INTERNAL', 'the sink was already committed');
  };
  /** Resolves once at most `limit` bytes are still unwritten; a failed write fails the sink. */
  const drain = async (limit: number): Promise<void> => {
    while (unwritten > limit && failure === undefined) await new Promise<void>((resolve) => settled.push(resolve));
    if (failure !== undefined) await fail(failure, 'write');
  };
  const enqueue = (chunk: Uint8Array): void => {
    unwritten += chunk.length;
    writing = writing.then(async () => {
      try {
        // After a failure or an abort the queued chunks are dropped: the file is about to be removed.
        if (state === 'open' && failure === undefined) await opts.io.write(handle, chunk);
      } catch (err) {
        failure ??= fileError(err, 'write', path);
      } finally {
        unwritten -= chunk.length;
        for (const wake of settled.splice(0)) wake();
      }
    });
  };

  return {
    async write(chunk) {
      ready();
      if (shape.limit !== undefined && received + chunk.length > shape.limit) {
        await fail(createError('CORRUPT', `the sender sent more than the ${shape.limit} bytes it offered`), 'write');
      }
      received += chunk.length;
      enqueue(chunk);
      await drain(WRITE_BEHIND_BYTES);
    },
    async commit() {
      ready();
      await drain(0);
      if (shape.limit !== undefined && received !== shape.limit) {
        await fail(
          createError('CORRUPT', `the data ended after ${received} of the ${shape.limit} bytes offered`),
          'write',
        );
      }
      try {
        await handle.sync();
        await handle.chmod(fileModeFor(shape.executable) & ~opts.umask);
        await handle.close();
        await placeFile(temp, path, replace);
      } catch (err) {
        await fail(err, 'create');
      }
      state = 'committed';
      await syncParent(path);
      return path;
    },
    async abort() {
      if (state !== 'open') return;
      state = 'failed';
      await discard();
    },
  };
}
