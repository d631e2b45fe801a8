/**
 * The receiver's side of the file layer: verified plaintext chunks become a file, a folder or bytes on standard
 * output. Nothing appears under the final name until commit(); abort() (or any failure) leaves nothing behind.
 */
import { rm, type FileHandle } from 'node:fs/promises';
import { createError, secureRandomBytes, type Offer, type RandomBytes } from '@portunus/protocol';
import { DEFAULT_MAX_ENTRIES } from './entry-check.js';
import { openFileSink } from './file-sink.js';
import { bundleRoot, openBundleSink } from './bundle-sink.js';
import { makeRoot, openFolderSink } from './folder-sink.js';
import type { Manifest } from './manifest.js';
import { openStdoutSink } from './stdout-sink.js';
import { isTarIdentity, resumeIdentity, type Partial } from './resume-state.js';
import { TarJournal } from './tar-journal.js';
import type { TarPrefix } from './tar-resume.js';
import type { Target } from './target.js';

import type { Sink } from '@portunus/client';

export type { Sink } from '@portunus/client';
export type { FileSink } from './file-sink.js';
export { checkOutput, checkTarget, type PlacedEntry, type Target, type TargetOptions } from './target.js';

/** How file data reaches the disk; replaceable so tests can simulate a full disk or a slow one. */
export interface SinkIo {
  write(handle: FileHandle, data: Uint8Array): Promise<void>;
  /** Before a resume checkpoint records a file's bytes (default: `handle.sync()`). */
  sync?(handle: FileHandle): Promise<void>;
}

export interface SinkOptions {
  /** Where a '-' target writes. */
  stdout?: NodeJS.WritableStream;
  /**
   * Permission bits to clear from received files and folders. Files are 0o644 or 0o755 before masking, folders
   * 0o755. Default: the process umask, so nothing received is more open than what the user's own tools create.
   */
  umask?: number;
  /** Folder offers with more tar entries are refused. */
  maxEntries?: number;
  random?: RandomBytes;
  io?: SinkIo;
  /** Told about things worth knowing that do not fail the transfer (a replaced folder that could not be removed). */
  onWarning?: (message: string) => void;
  /** Folders and bundles: records each file's SHA-256 as it is written. */
  manifest?: Manifest;
}

export type ResolvedSinkOptions = Required<Omit<SinkOptions, 'stdout' | 'manifest'>>;

export const defaultSinkIo: SinkIo = {
  async write(handle, data) {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await handle.write(data, offset, data.length - offset);
      offset += bytesWritten;
    }
  },
};

export async function openSink(target: Target, offer: Offer, opts: SinkOptions = {}): Promise<Sink> {
  if (offer.kind === 'text') throw createError('INTERNAL', 'a text message has no data to write');
  const limit = offer.kind === 'stream' ? undefined : offer.size;
  if (target.kind === 'stdout') {
    if (opts.stdout === undefined) throw createError('INTERNAL', 'no standard output given for a "-" target');
    return openStdoutSink(opts.stdout, limit);
  }
  const resolved = resolveOptions(opts);
  if (target.kind === 'entries') {
    if (offer.kind !== 'bundle') throw createError('INTERNAL', 'only a bundle lands as several entries');
    return openBundleSink(target.folder, target.entries, offer, { ...resolved, manifest: opts.manifest });
  }
  if (offer.kind === 'bundle') throw createError('INTERNAL', 'a bundle lands as several entries');
  if (offer.kind === 'folder') {
    return openFolderSink(target.path, target.replace, offer, { ...resolved, manifest: opts.manifest });
  }
  const executable = offer.kind === 'file' && offer.mode !== undefined && (offer.mode & 0o111) !== 0;
  return openFileSink(target.path, target.replace, { limit, executable }, resolved);
}

/** A sink that can keep what it holds for a later receive of the same offer (PROTOCOL.md §4.12). */
export interface ResumableSink extends Sink {
  /** Bytes already in the part when it was opened (taken over from an interrupted receive), until restart(). */
  readonly held: number;
  /** Drops what the part holds and starts it over (the sender's data does not match it). */
  restart(): Promise<void>;
  /**
   * Ends the receive but keeps the part and its state for a later one (an interruption), when it holds data:
   * returns the part and how much of the data it holds; otherwise the same as abort(), and undefined.
   */
  keep(): Promise<{ path: string; bytes: number } | undefined>;
}

export type ResumableOffer = Extract<Offer, { kind: 'file' | 'folder' | 'bundle' }>;
export type ResumableTarget = Extract<Target, { kind: 'path' | 'entries' }>;

/** Where the part of an offer landing at `target` lies: beside the target; a bundle's as `<folder>/bundle`. */
export function partTarget(target: ResumableTarget): string {
  return target.kind === 'path' ? target.path : bundleRoot(target.folder);
}

/**
 * A file, folder or bundle landing at a path, resumable (PROTOCOL.md §4.12): with a resume state beside its part,
 * continuing `partial` when given (taken over with resume-state.ts adopt; for a folder or bundle, `prefix` is
 * what tar-resume.ts found it holds).
 */
export async function openResumableSink(
  target: ResumableTarget,
  offer: ResumableOffer,
  taken: { partial: Partial; prefix?: TarPrefix } | undefined,
  opts: SinkOptions = {},
): Promise<ResumableSink> {
  const identity = resumeIdentity(partTarget(target), offer);
  const resolved = resolveOptions(opts);
  if (offer.kind === 'file') {
    if (target.kind !== 'path') throw createError('INTERNAL', 'a file lands at a path');
    const executable = offer.mode !== undefined && (offer.mode & 0o111) !== 0;
    const partial = taken?.partial;
    const shape = {
      limit: offer.size,
      executable,
      resume: { identity, ...(partial === undefined ? {} : { partial }) },
    };
    return openFileSink(target.path, target.replace, shape, resolved);
  }
  if (!isTarIdentity(identity)) throw createError('INTERNAL', 'a folder has a tar identity');
  const prefix = taken?.prefix;
  let root: string;
  let journal: TarJournal;
  if (taken !== undefined && prefix !== undefined) {
    root = taken.partial.part;
    journal = await TarJournal.reopen(taken.partial, identity, prefix.length);
  } else {
    root = await makeRoot(partTarget(target), resolved);
    journal = await TarJournal.create(root, identity).catch(async (err: unknown) => {
      await rm(root, { recursive: true, force: true });
      throw err;
    });
  }
  const resume = { root, resume: { journal, ...(prefix === undefined ? {} : { prefix }) } };
  const tarOpts = { ...resolved, manifest: opts.manifest };
  if (target.kind === 'entries') {
    if (offer.kind !== 'bundle') throw createError('INTERNAL', 'only a bundle lands as several entries');
    return openBundleSink(target.folder, target.entries, offer, tarOpts, resume);
  }
  if (offer.kind !== 'folder') throw createError('INTERNAL', 'a bundle lands as several entries');
  return openFolderSink(target.path, target.replace, offer, tarOpts, resume);
}

function resolveOptions(opts: SinkOptions): ResolvedSinkOptions {
  return {
    // process.umask() without an argument is documented as racy only between worker threads (DEP0139).
    umask: opts.umask ?? process.umask(),
    maxEntries: opts.maxEntries ?? DEFAULT_MAX_ENTRIES,
    random: opts.random ?? secureRandomBytes,
    io: opts.io ?? defaultSinkIo,
    onWarning: opts.onWarning ?? (() => {}),
  };
}
