/**
 * The sender's side of the file layer: what the user asked to send becomes an Offer plus a stream of plaintext
 * chunks. Everything that can fail locally (missing path, permissions, unsafe name) fails in openSource, before
 * the relay is contacted.
 */
import { open, realpath, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import {
  createError,
  MAX_TEXT_BYTES,
  PortunusError,
  type Offer,
  type Sha256,
  type Sha256Factory,
} from '@portunus/protocol';
import { DEFAULT_MAX_ENTRIES } from './entry-check.js';
import { openBundleSource, openFolderSource } from './folder-source.js';
import { fileError } from './fs-errors.js';
import type { FileDigest } from './manifest.js';
import { fileModeFor } from './offer.js';
import { checkChunkSize, rechunk } from './rechunk.js';
import { quoteForTerminal, safeComponentName } from './sanitize.js';
import { hashPrefix } from './prefix-hash.js';
import { identityOf, readStableFile } from './stable-file.js';

export type SourceSpec =
  | { path: string }
  /** Several files and folders in one send (at least two, distinct last components). */
  | { paths: string[] }
  | { stdin: Readable; name: string }
  | { text: string };

export interface Source {
  readonly offer: Offer;
  /**
   * Plaintext in chunks of exactly `chunkSize` bytes (the last shorter); nothing for text offers. `from`: a file's
   * data from that byte on (a resume; the receiver holds the rest).
   */
  chunks(chunkSize: number, from?: number): AsyncIterable<Uint8Array>;
  /** A file: SHA-256 after its first `bytes`, to check a receiver's resume claim and hash on (PROTOCOL.md §4.12). */
  hashPrefix?(bytes: number, sha256: Sha256Factory): Promise<Sha256>;
  /** Folders and bundles: each file's digest, as far as read (all of them once the chunks have ended). */
  files?(): readonly FileDigest[];
  close(): Promise<void>;
}

export interface SourceOptions {
  /** Told about folder entries that are skipped (sockets, links pointing outside, unsendable names). */
  onWarning?: (message: string) => void;
  /** Folders with more entries are refused (receivers refuse them too). */
  maxEntries?: number;
}

export async function openSource(spec: SourceSpec, opts: SourceOptions = {}): Promise<Source> {
  if ('text' in spec) return textSource(spec.text);
  if ('stdin' in spec) return stdinSource(spec.stdin, spec.name);
  const planOpts = { maxEntries: opts.maxEntries ?? DEFAULT_MAX_ENTRIES, onWarning: opts.onWarning ?? (() => {}) };
  if ('paths' in spec) {
    return openBundleSource(
      spec.paths.map((path) => ({ path, name: sourceName(resolve(path)) })),
      planOpts,
    );
  }
  const path = resolve(spec.path);
  const name = sourceName(path);
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw fileError(err, 'read', spec.path);
  }
  if (st.isDirectory()) {
    let realRoot: string;
    try {
      realRoot = await realpath(path);
    } catch (err) {
      throw fileError(err, 'read', spec.path);
    }
    return openFolderSource(realRoot, name, planOpts);
  }
  if (!st.isFile()) {
    throw createError('FILE_ERROR', `${quoteForTerminal(spec.path)} is not a regular file or folder`, {
      hint: 'To send a pipe or device, feed it to standard input: portunus send - < path',
    });
  }
  return openFileSource(path, name);
}

/** The offered name is the last component of the path as given (`send .` offers the current folder's name). */
export function sourceName(path: string): string {
  const name = safeComponentName(basename(path));
  if (name instanceof PortunusError) {
    throw createError('FILE_ERROR', `cannot send ${quoteForTerminal(path)}: ${name.message}`, {
      hint: 'Rename it, or send it from standard input with --name.',
    });
  }
  return name;
}

async function openFileSource(path: string, name: string): Promise<Source> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw fileError(err, 'read', path);
  }
  try {
    const st = await handle.stat();
    const identity = await identityOf(handle, path);
    // The path may have been swapped for something else between stat and open.
    if (!identity.isFile) throw createError('FILE_ERROR', `${quoteForTerminal(path)} is not a regular file`);
    const offer: Offer = { kind: 'file', name, size: identity.size, mode: fileModeFor((st.mode & 0o111) !== 0) };
    return {
      offer,
      chunks: (chunkSize, from = 0) => {
        checkChunkSize(chunkSize);
        return readStableFile(handle, identity, chunkSize, path, from);
      },
      hashPrefix: (bytes, sha256) => hashPrefix(handle, bytes, sha256, path),
      close: () => handle.close().catch(() => {}),
    };
  } catch (err) {
    await handle.close();
    throw fileError(err, 'read', path);
  }
}

function textSource(text: string): Source {
  if (Buffer.byteLength(text, 'utf8') > MAX_TEXT_BYTES) {
    throw createError('USAGE', `the text is longer than ${MAX_TEXT_BYTES / 1024} KiB`, {
      hint: 'Send longer text as a file, or through standard input: portunus send - < notes.txt',
    });
  }
  return { offer: { kind: 'text', text }, chunks: () => (async function* () {})(), close: async () => {} };
}

function stdinSource(stdin: Readable, rawName: string): Source {
  const name = safeComponentName(rawName);
  if (name instanceof PortunusError) throw createError('USAGE', `--name: ${name.message}`);
  let used = false;
  return {
    offer: { kind: 'stream', name },
    chunks: (chunkSize) => {
      if (used) throw createError('INTERNAL', 'standard input can be streamed only once');
      used = true;
      return rechunk(stdin, chunkSize);
    },
    close: async () => {
      stdin.destroy();
    },
  };
}
