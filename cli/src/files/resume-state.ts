/**
 * What a receive of a file keeps for a later one (PROTOCOL.md §4.12). Beside its `.part` a small `.resume` file
 * (same name, other suffix; mode 0600) names the offer the data belongs to and how many of the part's bytes were
 * written: the count is recorded at least every checkpointInterval(size) bytes, once those bytes are synced to the
 * disk (so neither a killed process nor a power cut leaves a count the part does not hold). Should the disk lose them
 * anyway, the sender's check of the prefix catches it, and the transfer starts over.
 *
 * A later receive of the same offer into the same place (same target name, offered name, size and mode) finds the
 * pair once its owner process is gone, takes it over by renaming both to its own names (so two receives never
 * share one), cuts the part to the recorded count and claims that prefix.
 */
import { constants } from 'node:fs';
import { lstat, open, opendir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { utf8, type Offer, type RandomBytes } from '@portunus/protocol';
import { errnoOf, fileError } from './fs-errors.js';
import { ownerGone } from './stale-temps.js';
import { stateOf, stateOwner, tempSibling } from './temp-path.js';

/**
 * The shortest interval between two checkpoints, in bytes written (a small offer's, checkpointInterval): what a
 * killed receive of such an offer loses at most, besides write-behind.
 */
export const CHECKPOINT_BYTES = 1024 * 1024;
/** The longest interval a large offer's checkpoints grow to (checkpointInterval). */
export const MAX_CHECKPOINT_BYTES = 16 * 1024 * 1024;

/**
 * The interval between two checkpoints of an offer of `size` bytes: 1/64 of it, within CHECKPOINT_BYTES ..
 * MAX_CHECKPOINT_BYTES. Every checkpoint syncs (fsync), and behind a fast transfer they run back to back: at 1 MiB a
 * GiB took 377 fsyncs (strace), which cost the tcp path 0.2-0.3 CPU-s and 3-8% of its MB/s per GiB (`npm run bench`,
 * 5 runs each). A killed receive of a large file re-fetches at most 1/64 of it (16 MiB: a fraction of a second on a
 * LAN), and one of a small file still at most 1 MiB.
 */
export function checkpointInterval(size: number): number {
  return Math.min(MAX_CHECKPOINT_BYTES, Math.max(CHECKPOINT_BYTES, Math.floor(size / 64)));
}
export const FORMAT = 'portunus-resume-v1';
/** A state's JSON is read from at most this many first bytes (a folder's: its first line, tar-journal.ts). */
const STATE_HEAD_BYTES = 4096;

/** Which offer, landing where, a partial belongs to. */
export type ResumeIdentity = FileIdentity | TarIdentity;

/** A file: the target's name (the folder is where the state lies), and the offer's name, size and mode. */
export interface FileIdentity {
  target: string;
  name: string;
  size: number;
  mode?: number;
}

/** A folder or bundle (tar-journal.ts): its part is a folder; `offer` is the SHA-256 of the offer's fields. */
export interface TarIdentity {
  target: string;
  offer: string;
  size: number;
}

/** The identity of `offer` landing at `target` (for a bundle: `<folder>/bundle`, where its part lies). */
export function resumeIdentity(
  target: string,
  offer: Extract<Offer, { kind: 'file' | 'folder' | 'bundle' }>,
): ResumeIdentity {
  if (offer.kind === 'file') return { target: basename(target), name: offer.name, size: offer.size, mode: offer.mode };
  // Every field that shapes the tar, in a fixed order (the JSON the peer sent may order them otherwise).
  const fields =
    offer.kind === 'folder'
      ? [offer.kind, offer.name, offer.size, offer.files, offer.bytes]
      : [offer.kind, offer.entries.map((e) => [e.name, e.type]), offer.size, offer.files, offer.bytes];
  const digest = createHash('sha256').update(JSON.stringify(fields)).digest('hex');
  return { target: basename(target), offer: digest, size: offer.size };
}

export function isTarIdentity(identity: ResumeIdentity): identity is TarIdentity {
  return 'offer' in identity;
}

/** A `.part` and its state: its first `bytes` are data of the offer the state names. */
export interface Partial {
  part: string;
  state: string;
  bytes: number;
}

/**
 * Creates the state file beside `part` (a file's or a folder's), owner-only, never over an existing one or through
 * a link; `access` is O_WRONLY or O_RDWR.
 */
export async function createStateFile(part: string, access: number): Promise<{ path: string; handle: FileHandle }> {
  const path = stateOf(part);
  try {
    const flags = access | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
    return { path, handle: await open(path, flags, 0o600) };
  } catch (err) {
    throw fileError(err, 'create', path);
  }
}

/** The open state file of this receive's `.part`: records how much of it is written. */
export class ResumeState {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly identity: ResumeIdentity,
    private recorded: number,
  ) {}

  /** A new state for a new `.part` (nothing written yet). */
  static async create(part: string, identity: ResumeIdentity): Promise<ResumeState> {
    const { path, handle } = await createStateFile(part, constants.O_WRONLY);
    const state = new ResumeState(path, handle, identity, -1);
    await state.record(0);
    return state;
  }

  /** The state of a partial this receive took over (adopt), holding `bytes`. */
  static async reopen(partial: Partial, identity: ResumeIdentity): Promise<ResumeState> {
    let handle: FileHandle;
    try {
      handle = await open(partial.state, constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0));
    } catch (err) {
      throw fileError(err, 'open', partial.state);
    }
    const state = new ResumeState(partial.state, handle, identity, -1);
    await state.record(partial.bytes);
    return state;
  }

  get bytes(): number {
    return this.recorded;
  }

  /**
   * Records that the part's first `bytes` are written. One positioned write of a few hundred bytes: the count only
   * grows, so the JSON never gets shorter and nothing of an older one is left after it (a restart truncates first).
   */
  async record(bytes: number): Promise<void> {
    const json = utf8(JSON.stringify({ format: FORMAT, ...this.identity, bytes }));
    try {
      if (bytes < this.recorded) await this.handle.truncate(0);
      await this.handle.write(json, 0, json.length, 0);
    } catch (err) {
      throw fileError(err, 'write', this.path);
    }
    this.recorded = bytes;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => {});
  }

  async remove(): Promise<void> {
    await this.close();
    await unlink(this.path).catch(() => {});
  }
}

function sameIdentity(json: Record<string, unknown>, identity: ResumeIdentity): boolean {
  const keys = isTarIdentity(identity) ? ['target', 'offer', 'size'] : ['target', 'name', 'size', 'mode'];
  const fields = identity as unknown as Record<string, unknown>;
  return json.format === FORMAT && keys.every((key) => json[key] === fields[key]);
}

/** Partials of `identity` beside `target` whose owner is gone, the largest first. Never throws. */
export async function findPartials(target: string, identity: ResumeIdentity): Promise<Partial[]> {
  const folder = dirname(target);
  const found: Partial[] = [];
  try {
    for await (const entry of await opendir(folder)) {
      const owner = stateOwner(entry.name);
      if (owner === undefined || !entry.isFile() || !ownerGone(owner)) continue;
      const state = join(folder, entry.name);
      const partial = await readPartial(state, identity);
      if (partial !== undefined) found.push(partial);
    }
  } catch {
    // An unreadable folder is the receive's problem to report, not the resume's.
  }
  return found.sort((x, y) => y.bytes - x.bytes);
}

async function readPartial(state: string, identity: ResumeIdentity): Promise<Partial | undefined> {
  try {
    const st = await lstat(state);
    if (!st.isFile() || (process.getuid !== undefined && st.uid !== process.getuid())) return undefined;
    const json = await readStateHead(state);
    const bytes = json?.bytes;
    if (json === undefined || !sameIdentity(json, identity)) return undefined;
    if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0 || bytes > identity.size)
      return undefined;
    const part = state.replace(/\.resume$/, '.part');
    const partStat = await lstat(part);
    if (isTarIdentity(identity)) return partStat.isDirectory() ? { part, state, bytes } : undefined;
    // Shorter than recorded: the disk lost what the OS had (a power loss); nothing to trust.
    if (!partStat.isFile() || partStat.size < bytes) return undefined;
    return { part, state, bytes };
  } catch {
    return undefined;
  }
}

/**
 * The JSON a state starts with: a file's state is that JSON alone; a folder's is its first line, padded, before
 * the journal (tar-journal.ts).
 */
export async function readStateHead(state: string): Promise<Record<string, unknown> | undefined> {
  const handle = await open(state, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  try {
    const head = new Uint8Array(STATE_HEAD_BYTES);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const text = Buffer.from(head.subarray(0, bytesRead)).toString('utf8');
    const line = text.includes('\n') ? text.slice(0, text.indexOf('\n')) : text;
    const json: unknown = JSON.parse(line);
    return typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

/**
 * Takes a partial over: renames the part, then its state, to this process's names beside `target` (the sweep of
 * another receive keeps a part only beside its state, and this process is alive). Undefined when another receive
 * took it first.
 */
export async function adopt(partial: Partial, target: string, random: RandomBytes): Promise<Partial | undefined> {
  const part = tempSibling(join(dirname(partial.part), basename(target)), random, 'part');
  try {
    await rename(partial.part, part);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw fileError(err, 'rename', partial.part);
  }
  try {
    await rename(partial.state, stateOf(part));
  } catch (err) {
    await unlink(part).catch(() => {});
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw fileError(err, 'rename', partial.state);
  }
  return { part, state: stateOf(part), bytes: partial.bytes };
}

/** Removes a partial and its state. */
export async function discard(partial: Partial): Promise<void> {
  await rm(partial.part, { recursive: true, force: true }).catch(() => {});
  await unlink(partial.state).catch(() => {});
}
