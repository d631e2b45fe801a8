/**
 * A received file (or stdin stream) goes to a `.part` beside the target (temp-path.ts), mode 0600 so no one
 * else can read it half-written; commit() syncs it, sets its final mode and moves it into place.
 *
 * A file offer's part is resumable (resume-state.ts): a `.resume` state beside it records how much is written, a
 * part taken over from an interrupted receive continues after its prefix, and keep() leaves both for a later
 * receive instead of removing them.
 */
import { constants } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { createError, PortunusError } from '@portunus/protocol';
import { fileError } from './fs-errors.js';
import { fileModeFor } from './offer.js';
import { placeFile, syncParent } from './place.js';
import { checkpointInterval, ResumeState, type Partial, type ResumeIdentity } from './resume-state.js';
import type { ResolvedSinkOptions, ResumableSink } from './sink.js';
import { tempSibling } from './temp-path.js';

const syncHandle = (handle: FileHandle): Promise<void> => handle.sync();

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
  /** A file offer: keep a resume state, and continue `partial` (taken over with resume-state.ts adopt) if given. */
  resume?: { identity: ResumeIdentity; partial?: Partial };
}

/** The sink of a file: besides a Sink's work, what a resume needs. */
export type FileSink = ResumableSink;

export async function openFileSink(
  path: string,
  replace: boolean,
  shape: FileShape,
  opts: ResolvedSinkOptions,
): Promise<FileSink> {
  const partial = shape.resume?.partial;
  const temp = partial?.part ?? tempSibling(path, opts.random, 'part');
  let handle: FileHandle;
  let state: ResumeState | undefined;
  try {
    if (partial === undefined) {
      if (shape.resume !== undefined) state = await ResumeState.create(temp, shape.resume.identity);
      handle = await open(temp, CREATE_FLAGS, 0o600);
    } else {
      state = await ResumeState.reopen(partial, shape.resume!.identity);
      // O_APPEND: every write lands at the end, after the prefix (and after a restart's truncation, at 0).
      handle = await open(temp, constants.O_WRONLY | constants.O_APPEND | (constants.O_NOFOLLOW ?? 0));
      await handle.truncate(partial.bytes);
    }
  } catch (err) {
    await state?.remove();
    throw fileError(err, 'create', temp);
  }
  let held = partial?.bytes ?? 0;
  let received = held;
  /** Bytes the OS has (their writes completed), and what the state last recorded. */
  let written = held;
  let recorded = held;
  let status: 'open' | 'committed' | 'failed' = 'open';
  let failure: PortunusError | undefined;
  // Writes run one after another (no position given: each appends where the last ended), behind the caller.
  let writing: Promise<void> = Promise.resolve();
  let unwritten = 0;
  const settled: (() => void)[] = [];

  /** The checkpoint running: one at a time, behind the writes. */
  let checkpointing: Promise<void> | undefined;
  const interval = checkpointInterval(shape.resume?.identity.size ?? 0);
  /**
   * At least every `interval` bytes (checkpointInterval): what is written reaches the disk (fsync) before the state
   * records it, so a power cut never leaves a state counting bytes the disk lost. Writes that complete while a
   * checkpoint runs are recorded by the next one, started as that one ends: when the data stops (a stalled peer), the
   * state still catches up with the disk rather than waiting for a write that may never come (seen in CI: a slow
   * fsync left the state 3 MiB behind for the 30 s until the sender gave up).
   */
  const checkpoint = (): void => {
    if (state === undefined || checkpointing !== undefined || failure !== undefined) return;
    if (written - recorded < interval) return;
    const [bytes, resume] = [written, state];
    checkpointing = (async () => {
      try {
        await (opts.io.sync ?? syncHandle)(handle);
        await resume.record(bytes);
        recorded = bytes;
      } catch (err) {
        failure ??= fileError(err, 'write', path);
      } finally {
        checkpointing = undefined;
      }
      checkpoint();
    })();
  };
  /** Resolves once no checkpoint runs (one ending may start the next). */
  const checkpointsDone = async (): Promise<void> => {
    while (checkpointing !== undefined) await checkpointing;
  };
  const settle = async (): Promise<void> => {
    await writing;
    await checkpointsDone();
  };
  const discard = async (): Promise<void> => {
    await settle();
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    await state?.remove();
  };
  const fail = async (err: unknown, action: string): Promise<never> => {
    failure ??= fileError(err, action, path);
    if (status === 'open') {
      status = 'failed';
      await discard();
    }
    throw failure;
  };
  const ready = (): void => {
    if (failure !== undefined) throw failure;
    if (status !== 'open') throw createError('INTERNAL', 'the sink was already committed');
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
        if (status === 'open' && failure === undefined) {
          await opts.io.write(handle, chunk);
          written += chunk.length;
          checkpoint();
        }
      } catch (err) {
        failure ??= fileError(err, 'write', path);
      } finally {
        unwritten -= chunk.length;
        for (const wake of settled.splice(0)) wake();
      }
    });
  };

  return {
    get held() {
      return held;
    },
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
      await checkpointsDone();
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
      status = 'committed';
      await state?.remove();
      await syncParent(path);
      return path;
    },
    async abort() {
      if (status !== 'open') return;
      status = 'failed';
      await discard();
    },
    async restart() {
      ready();
      await drain(0);
      await checkpointsDone();
      try {
        await handle.truncate(0);
        await state?.record(0);
      } catch (err) {
        await fail(err, 'write');
      }
      held = received = written = recorded = 0;
    },
    async keep() {
      if (status !== 'open') return undefined;
      await settle();
      if (state === undefined || failure !== undefined || written === 0) {
        status = 'failed';
        await discard();
        return undefined;
      }
      status = 'failed';
      try {
        await handle.sync();
        await state.record(written);
      } catch {
        // The state keeps its last count: a shorter prefix, still true.
      }
      await handle.close().catch(() => {});
      await state.close();
      return { path: temp, bytes: state.bytes };
    },
  };
}
