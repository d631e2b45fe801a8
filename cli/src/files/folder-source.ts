/**
 * Streams a folder (or a bundle of several paths, bundle-plan.ts) as a tar (tar-stream `pack`) without a temporary archive. The entries and the exact tar length
 * come from planFolder; while streaming, every file is re-checked (same size and mtime, exactly that many bytes)
 * and the byte count must match the offer exactly, else FILE_CHANGED. Memory stays bounded: file contents are read
 * in pieces, and a ByteGate keeps at most HIGH_WATER bytes inside pack ahead of the reader.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Header, Pack } from 'tar-stream';
import { tarStream } from '../lazy-deps.js';
import { createError, PortunusError, type Offer, type Sha256 } from '@portunus/protocol';
import { ByteGate } from './byte-gate.js';
import { planBundle, type BundlePath } from './bundle-plan.js';
import { planFolder, type FolderEntry, type FolderPlan, type PlanOptions } from './folder-plan.js';
import { Manifest } from './manifest.js';
import { errnoOf, fileError } from './fs-errors.js';
import { fileModeFor } from './offer.js';
import { checkChunkSize, rechunk, streamOf } from './rechunk.js';
import { sanitizeForTerminal } from './sanitize.js';
import type { Source } from './source.js';
import { inOrder } from './in-order.js';
import { fileChanged, identityOf, readStableFile } from './stable-file.js';
import { tarHeaderSize, tarPadding } from './tar-size.js';

/** Bytes pack may hold ahead of the reader, and the size of file reads fed into it. */
const HIGH_WATER = 256 * 1024;
const READ_SIZE = 64 * 1024;
/** Small files read ahead of the one being packed (readIfSmall): at most 1 MiB waiting. */
const READ_AHEAD_FILES = 16;

export async function openFolderSource(realRoot: string, name: string, opts: PlanOptions): Promise<Source> {
  const plan = await planFolder(realRoot, name, opts);
  return tarSource(plan, { kind: 'folder', name, size: plan.size, files: plan.files, bytes: plan.bytes });
}

export async function openBundleSource(paths: readonly BundlePath[], opts: PlanOptions): Promise<Source> {
  const { plan, entries } = await planBundle(paths, opts);
  return tarSource(plan, { kind: 'bundle', entries, size: plan.size, files: plan.files, bytes: plan.bytes });
}

function tarSource(plan: FolderPlan, offer: Offer): Source {
  let manifest = new Manifest();
  /** After hashPrefix: the same tar stream with its first `from` bytes consumed, to go on from there (a resume). */
  let rest: { from: number; pieces: AsyncGenerator<Uint8Array>; tar: AsyncGenerator<Uint8Array> } | undefined;
  const abandon = async (): Promise<void> => {
    const left = rest;
    rest = undefined;
    // Both: a generator never started ends without running, so `pieces` alone would not end the tar's.
    await left?.pieces.return(undefined);
    await left?.tar.return(undefined);
  };
  return {
    offer,
    chunks: (chunkSize, from = 0) => {
      checkChunkSize(chunkSize);
      if (from > 0) {
        if (rest?.from !== from) throw createError('INTERNAL', `the tar stream was not hashed up to byte ${from}`);
        return rechunk(rest.pieces, chunkSize);
      }
      void abandon();
      manifest = new Manifest();
      return rechunk(tarPieces(plan, manifest), chunkSize);
    },
    // The tar is deterministic (PROTOCOL.md §4.5): made again, its first bytes are those an earlier run sent when
    // nothing changed. They are read and hashed once; the stream then goes on where the hash stopped.
    hashPrefix: async (bytes, sha256) => {
      await abandon();
      manifest = new Manifest();
      const pieces = tarPieces(plan, manifest);
      const hash = sha256();
      try {
        const leftover = await hashFirst(pieces, bytes, hash);
        rest = { from: bytes, pieces: prepend(leftover, pieces), tar: pieces };
      } catch (err) {
        await pieces.return(undefined);
        throw err;
      }
      return hash;
    },
    files: () => manifest.files(),
    close: abandon,
  };
}

/** Feeds the stream's first `bytes` into `hash`; returns what the last piece held beyond them. */
async function hashFirst(
  pieces: AsyncGenerator<Uint8Array>,
  bytes: number,
  hash: Sha256,
): Promise<Uint8Array | undefined> {
  let left = bytes;
  while (left > 0) {
    const next = await pieces.next();
    // tarPieces fails first when the stream is shorter than offered; a claim is never longer (session.ts).
    if (next.done === true) throw sizeMismatch(bytes, `fewer than ${bytes}`);
    const piece = next.value;
    hash.update(piece.subarray(0, Math.min(left, piece.length)));
    if (piece.length > left) return piece.subarray(left);
    left -= piece.length;
  }
  return undefined;
}

async function* prepend(first: Uint8Array | undefined, rest: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (first !== undefined) yield first;
  yield* rest;
}

/** The tar stream in the pieces pack makes, its length checked against the plan. */
async function* tarPieces(plan: FolderPlan, manifest: Manifest): AsyncGenerator<Uint8Array> {
  const pack = tarStream().pack();
  // Failures are reported through `failure` and the iterator below; an unheard 'error' event would crash.
  pack.on('error', () => {});
  const gate = new ByteGate(HIGH_WATER);
  let failure: PortunusError | undefined;
  const producer = packEntries(pack, plan.entries, gate, manifest).then(
    () => pack.finalize(),
    (err: unknown) => {
      failure = streamError(err);
      pack.destroy(failure);
    },
  );
  let sent = 0;
  try {
    for await (const piece of drain(pack, gate)) {
      sent += piece.length;
      if (sent > plan.size) throw sizeMismatch(plan.size, `more than ${plan.size}`);
      yield piece;
    }
    if (failure !== undefined) throw failure;
    if (sent !== plan.size) throw sizeMismatch(plan.size, String(sent));
  } catch (err) {
    throw failure ?? err;
  } finally {
    gate.close(createError('INTERRUPTED', 'the folder stream was stopped'));
    pack.destroy();
    await producer;
  }
}

function streamError(err: unknown): PortunusError {
  if (err instanceof PortunusError) return err;
  const message = sanitizeForTerminal(err instanceof Error ? err.message : String(err));
  return createError('FILE_ERROR', `cannot stream the folder: ${message}`, { cause: err });
}

function sizeMismatch(expected: number, got: string): PortunusError {
  return createError('FILE_CHANGED', `the folder's tar stream came to ${got} bytes instead of the ${expected} offered`);
}

async function* drain(pack: Pack, gate: ByteGate): AsyncGenerator<Uint8Array> {
  for await (const piece of pack as AsyncIterable<Buffer>) {
    gate.consume(piece.length);
    yield piece;
  }
}

async function packEntries(
  pack: Pack,
  entries: readonly FolderEntry[],
  gate: ByteGate,
  manifest: Manifest,
): Promise<void> {
  // Small files are read a few at once ahead of the packing (in-order.ts); each is still packed in its place.
  for await (const [entry, small] of inOrder(entries, READ_AHEAD_FILES, readIfSmall)) {
    await gate.wait();
    const mtime = new Date(entry.mtime * 1000);
    if (entry.type === 'directory') {
      gate.produce(tarHeaderSize(entry.name));
      await addEntry(pack, { name: entry.name, type: 'directory', mode: 0o755, mtime }).done;
    } else if (entry.type === 'symlink') {
      gate.produce(tarHeaderSize(entry.name, entry.linkname));
      await addEntry(pack, { name: entry.name, type: 'symlink', linkname: entry.linkname, mode: 0o777, mtime }).done;
    } else {
      await packFile(pack, entry, gate, mtime, manifest, small);
    }
  }
}

/**
 * A file of at most READ_SIZE bytes, read whole ahead of its turn (at most READ_AHEAD_FILES × READ_SIZE bytes wait
 * in memory); larger files are read in their turn, piece by piece (packFile). Read with blocking calls: open, one
 * read of a byte more than planned (so a file that grew is seen), fstat, close. For a file in the page cache these
 * take microseconds, less than one round trip through libuv's thread pool, and the sender made ten of those per file
 * (10,000 small files and one of 100 MB: 1.6 CPU-s against 4.2 for 8ecf126). The fstat after the read checks the file is
 * what planFolder saw: a change before the open or during the read moves its mtime or size.
 */
async function readIfSmall(entry: FolderEntry): Promise<[FolderEntry, Uint8Array[] | undefined]> {
  if (entry.type !== 'file' || entry.size > READ_SIZE) return [entry, undefined];
  let fd: number;
  try {
    fd = openSync(entry.path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (err) {
    throw openError(entry, err);
  }
  try {
    const data = new Uint8Array(entry.size + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, data, got, data.length - got, got);
      got += n;
      if (n === 0 || got === data.length) break;
    }
    if (got > entry.size) throw fileChanged(entry.path, `it grew beyond ${entry.size} bytes`);
    if (got < entry.size) throw fileChanged(entry.path, `it ended after ${got} bytes`);
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile() || Number(st.size) !== entry.size || st.mtimeNs !== entry.mtimeNs) {
      throw fileChanged(entry.path, 'it differs from when the folder was listed');
    }
    return [entry, entry.size === 0 ? [] : [data.subarray(0, entry.size)]];
  } catch (err) {
    throw err instanceof PortunusError ? err : fileError(err, 'read', entry.path);
  } finally {
    closeSync(fd);
  }
}

function openError(entry: Extract<FolderEntry, { type: 'file' }>, err: unknown): PortunusError {
  const errno = errnoOf(err);
  if (errno === 'ENOENT' || errno === 'ELOOP') return fileChanged(entry.path, 'it was removed or replaced');
  return fileError(err, 'read', entry.path);
}

type EntrySink = ReturnType<Pack['entry']>;

function addEntry(pack: Pack, header: Partial<Header> & { name: string }): { stream: EntrySink; done: Promise<void> } {
  let stream!: EntrySink;
  const done = new Promise<void>((resolve, reject) => {
    stream = pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
  // When reading the file fails first, the pack destroys the entry: that error and the rejection of `done` are
  // expected then, and already reported through the producer.
  stream.on('error', () => {});
  done.catch(() => {});
  return { stream, done };
}

async function packFile(
  pack: Pack,
  entry: Extract<FolderEntry, { type: 'file' }>,
  gate: ByteGate,
  mtime: Date,
  manifest: Manifest,
  read: Uint8Array[] | undefined,
): Promise<void> {
  const handle = read === undefined ? await openUnchanged(entry) : undefined;
  try {
    const mode = fileModeFor(entry.executable);
    gate.produce(tarHeaderSize(entry.name));
    const { stream, done } = addEntry(pack, { name: entry.name, type: 'file', size: entry.size, mode, mtime });
    const data =
      handle === undefined ? streamOf(read!) : readStableFile(handle, plannedIdentity(entry), READ_SIZE, entry.path);
    for await (const chunk of manifest.hashing(entry.name, data)) {
      await gate.wait();
      gate.produce(chunk.length);
      stream.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    }
    stream.end(undefined);
    await done;
    gate.produce(tarPadding(entry.size));
  } finally {
    await handle?.close();
  }
}

/** What planFolder saw of a file, which it must still be while it is read (stable-file.ts). */
const plannedIdentity = (entry: Extract<FolderEntry, { type: 'file' }>) => ({
  size: entry.size,
  mtimeNs: entry.mtimeNs,
  isFile: true,
});

/** Opens without following a link, and checks the file is still what planFolder saw. */
async function openUnchanged(entry: Extract<FolderEntry, { type: 'file' }>): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(entry.path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (err) {
    throw openError(entry, err);
  }
  try {
    const now = await identityOf(handle, entry.path);
    if (!now.isFile || now.size !== entry.size || now.mtimeNs !== entry.mtimeNs) {
      throw fileChanged(entry.path, 'it differs from when the folder was listed');
    }
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}
