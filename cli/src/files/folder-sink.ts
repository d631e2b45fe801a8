/**
 * A received folder: the tar stream is parsed by tar-stream `extract` and each entry is validated (entry-check)
 * before TreeWriter creates it inside a `.part` folder beside the target (temp-path.ts), a 0700 folder renamed
 * into place on commit. Any failure removes the whole temporary folder. Memory stays bounded: write() waits for
 * the extractor to drain, and the extractor waits for each file's data to reach the disk. A bundle (several
 * top-level entries) goes through the same sink with another TarLayout (bundle-sink.ts).
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { extract as createExtract, type Header } from 'tar-stream';
import { createError, PortunusError, type Offer } from '@portunus/protocol';
import { checkEntryName, checkLinkTarget, entryKind, type EntryKind } from './entry-check.js';
import { fileError } from './fs-errors.js';
import { placeFolder, syncParent } from './place.js';
import { sanitizeForTerminal } from './sanitize.js';
import type { Manifest } from './manifest.js';
import type { ResolvedSinkOptions, Sink } from './sink.js';
import { tempSibling } from './temp-path.js';
import { TreeWriter } from './tree-writer.js';

/** What the tar claims to hold; checked as it arrives and at the end. */
export type TarOffer = Extract<Offer, { kind: 'folder' | 'bundle' }>;

/** How a tar's entries map into the temporary root, and how the finished root is put in place. */
export interface TarLayout {
  /** Components below the root (the first one the top-level entry), and how deep the top-level folder is. */
  parts(name: string, kind: EntryKind): { parts: string[]; top: number } | PortunusError;
  /** After the last entry: anything the offer promised that never came is refused here. */
  finish(): PortunusError | undefined;
  /** Moves the finished root's contents into place; returns where they went. */
  place(root: string): Promise<string>;
}

export async function openFolderSink(
  path: string,
  replace: boolean,
  offer: Extract<Offer, { kind: 'folder' }>,
  opts: ResolvedSinkOptions & { manifest?: Manifest },
): Promise<Sink> {
  const layout: TarLayout = {
    parts: (name, kind) => {
      const parts = checkEntryName(name, offer.name, kind);
      return parts instanceof PortunusError ? parts : { parts, top: 0 };
    },
    finish: () => undefined,
    place: async (root) => {
      try {
        await placeFolder(root, path, replace, opts.random, opts.onWarning);
      } catch (err) {
        throw fileError(err, 'create', path);
      }
      return path;
    },
  };
  return new TarSink(await makeRoot(path, opts), layout, offer, opts);
}

/** A 0700 temporary folder beside `path` (temp-path.ts). */
export async function makeRoot(path: string, opts: ResolvedSinkOptions): Promise<string> {
  const root = tempSibling(path, opts.random, 'part');
  try {
    await mkdir(root, 0o700);
  } catch (err) {
    throw fileError(err, 'create', root);
  }
  return root;
}

function tarError(err: unknown): PortunusError {
  if (err instanceof PortunusError) return err;
  const message = sanitizeForTerminal(err instanceof Error ? err.message : String(err));
  return createError('PROTOCOL', `the folder data is not a valid tar stream (${message})`, { cause: err });
}

export class TarSink implements Sink {
  private readonly extract = createExtract();
  private readonly tree: TreeWriter;
  private received = 0;
  private entries = 0;
  private files = 0;
  private bytes = 0;
  private state: 'open' | 'committed' | 'discarded' = 'open';
  private failure: PortunusError | undefined;
  /** The entry being written; extract hands out the next one only after it settles. */
  private current: Promise<void> = Promise.resolve();
  private discarding: Promise<void> | undefined;

  constructor(
    private readonly root: string,
    private readonly layout: TarLayout,
    private readonly offer: TarOffer,
    private readonly opts: ResolvedSinkOptions & { manifest?: Manifest },
  ) {
    this.tree = new TreeWriter(root, opts.umask, opts.io);
    this.extract.on('entry', (header, stream, next) => {
      // Destroying the extractor destroys the entry's stream too; that error is already ours, in `failure`.
      stream.on('error', () => {});
      this.current = this.writeEntry(header, stream as AsyncIterable<Uint8Array>).then(
        () => next(),
        (err: unknown) => {
          this.failWith(err);
          next(this.failure);
        },
      );
    });
    this.extract.on('error', (err: unknown) => this.failWith(err));
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.check();
    if (this.received + chunk.length > this.offer.size) {
      this.failWith(createError('CORRUPT', `the sender sent more than the ${this.offer.size} bytes it offered`));
      await this.check();
    }
    this.received += chunk.length;
    // A copy: the extractor may hold on to the bytes after this call returns.
    if (!this.extract.write(Buffer.from(chunk))) await this.settled('drain');
    await this.check();
  }

  async commit(): Promise<string> {
    await this.check();
    if (this.received !== this.offer.size) {
      this.failWith(
        createError('CORRUPT', `the data ended after ${this.received} of the ${this.offer.size} bytes offered`),
      );
      await this.check();
    }
    const finished = this.settled('finish');
    this.extract.end(undefined);
    await finished;
    await this.current;
    await this.check();
    if (this.files !== this.offer.files || this.bytes !== this.offer.bytes) {
      this.failWith(createError('PROTOCOL', 'the folder did not hold the number of files and bytes offered'));
      await this.check();
    }
    const missing = this.layout.finish();
    if (missing !== undefined) {
      this.failWith(missing);
      await this.check();
    }
    let placed = '';
    try {
      await chmod(this.root, (0o755 & ~this.opts.umask) | 0o700);
      placed = await this.layout.place(this.root);
    } catch (err) {
      this.failWith(fileError(err, 'create', this.root));
      await this.check();
    }
    this.state = 'committed';
    await syncParent(placed);
    return placed;
  }

  async abort(): Promise<void> {
    if (this.state === 'committed') return;
    await this.discard();
  }

  private async writeEntry(header: Header, stream: AsyncIterable<Uint8Array>): Promise<void> {
    if (++this.entries > this.opts.maxEntries) {
      throw createError('UNSAFE_PATH', `the folder has more than ${this.opts.maxEntries} entries`, {
        hint: 'The receiver limits how many entries a folder may have; ask for an archive of it instead.',
      });
    }
    const kind = entryKind(header.name, header.type);
    if (kind instanceof PortunusError) throw kind;
    const mapped = this.layout.parts(header.name, kind);
    if (mapped instanceof PortunusError) throw mapped;
    const { parts, top } = mapped;
    if (kind !== 'file' && header.size > 0) throw createError('PROTOCOL', 'a folder or link entry carries data');
    if (kind === 'directory') return this.tree.directory(header.name, parts);
    if (kind === 'symlink') {
      const bad = checkLinkTarget(header.name, header.linkname ?? '', parts.slice(top));
      if (bad !== undefined) throw bad;
      return this.tree.symlink(header.name, parts, header.linkname);
    }
    this.files += 1;
    this.bytes += header.size;
    if (this.files > this.offer.files || this.bytes > this.offer.bytes) {
      throw createError('PROTOCOL', 'the folder holds more files or bytes than offered');
    }
    const data = this.opts.manifest?.hashing(header.name, stream) ?? stream;
    return this.tree.file(header.name, parts, (header.mode & 0o111) !== 0, data);
  }

  /** Resolves on `event`, or when the extractor closes or fails (the caller then checks `failure`). */
  private settled(event: 'drain' | 'finish'): Promise<void> {
    if (this.extract.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        for (const name of [event, 'close', 'error'] as const) this.extract.off(name, done);
        resolve();
      };
      for (const name of [event, 'close', 'error'] as const) this.extract.on(name, done);
    });
  }

  private failWith(err: unknown): void {
    this.failure ??= tarError(err);
  }

  /** Throws the recorded failure once everything written is removed. */
  private async check(): Promise<void> {
    if (this.failure !== undefined) {
      await this.discard();
      throw this.failure;
    }
    if (this.state !== 'open') throw createError('INTERNAL', `the folder sink is already ${this.state}`);
  }

  private discard(): Promise<void> {
    this.discarding ??= (async () => {
      this.state = 'discarded';
      this.extract.destroy();
      await this.current;
      await rm(this.root, { recursive: true, force: true }).catch((err: unknown) => {
        this.opts.onWarning(fileError(err, 'remove the partial folder', this.root).message);
      });
    })();
    return this.discarding;
  }
}
