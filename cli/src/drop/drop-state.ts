/**
 * What a drop leaves in the user's state folder (`$XDG_STATE_HOME/portunus/drops`, else
 * `~/.local/state/portunus/drops`; owner-only files) so that an interrupted upload or download continues when the
 * same command runs again:
 * - an upload's state, named after the command (relay, paths, options): the code — the drop's secret, which is why
 *   the files are 0600 — the upload's path and token, and each source's size and modification time, which must be
 *   unchanged for the regenerated stream to match what the relay holds;
 * - a download's lease, named after the drop id, which resumes the download without taking another slot.
 * Each is removed once its upload or download completes, or fails for good.
 */
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createError } from '@portunus/protocol/errors';
import { secureRandomBytes, toHex } from '@portunus/protocol/bytes';
import { fileError } from '../files/fs-errors.js';
import { ownerGone } from '../files/stale-temps.js';
import { currentOwner, type TempOwner } from '../files/temp-path.js';

export interface SourceStamp {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface UploadState {
  code: string;
  /** The upload's path on the relay (`/drops/<id>`) and the token its HEAD and PATCH need. */
  path: string;
  token: string;
  length: number;
  expires: number;
  downloads: number;
  sources: SourceStamp[];
}

export interface LeaseState {
  lease: string;
  /** The drop's prologue (magic and sealed offer record, hex), once read: a resume starts at a data record. */
  prologue?: string;
}

/** The name of an upload's state: the same command (relay, what is sent, expiry, downloads) finds the same one. */
export function uploadKey(parts: {
  origin: string;
  paths?: string[];
  text?: string;
  expires: number;
  downloads: number;
}): string {
  const what = JSON.stringify([
    parts.origin,
    parts.paths?.map((p) => resolve(p)) ?? null,
    parts.text ?? null,
    parts.expires,
    parts.downloads,
  ]);
  // node:crypto is loaded on first use, not at start-up (`portunus --help` reaches this module).
  const { createHash } = process.getBuiltinModule('node:crypto');
  return 'upload-' + createHash('sha256').update(what).digest('hex').slice(0, 32);
}

/** Size and modification time of each path as given (a folder's own: adding or removing an entry changes it). */
export async function stampSources(paths: readonly string[]): Promise<SourceStamp[]> {
  return Promise.all(
    paths.map(async (path) => {
      const st = await stat(path).catch((err: unknown) => Promise.reject(fileError(err, 'read', path)));
      return { path: resolve(path), size: st.size, mtimeMs: st.mtimeMs };
    }),
  );
}

/**
 * The states of one user. Each file is named after its owner process too (`<name>-<host>-<pid>.json`): a state
 * whose process still runs (the same command running twice at once, three receivers of one drop side by side) is
 * never taken over; one whose process is gone is claimed by renaming it to this process's name, so only one
 * process ever continues it.
 */
export class DropStates {
  readonly #owner: TempOwner = currentOwner();

  constructor(private readonly dir: string | undefined) {}

  async loadUpload(key: string): Promise<UploadState | undefined> {
    const value = await this.#claim(key);
    const ok =
      value !== undefined &&
      typeof value.code === 'string' &&
      typeof value.path === 'string' &&
      typeof value.token === 'string' &&
      Number.isSafeInteger(value.length) &&
      Number.isSafeInteger(value.expires) &&
      Number.isSafeInteger(value.downloads) &&
      Array.isArray(value.sources);
    return ok ? (value as unknown as UploadState) : undefined;
  }

  saveUpload(key: string, state: UploadState): Promise<void> {
    return this.#write(key, state);
  }

  async loadLease(id: string): Promise<LeaseState | undefined> {
    const value = await this.#claim(`download-${id}`);
    if (typeof value?.lease !== 'string' || !/^[0-9a-f]{32}$/.test(value.lease)) return undefined;
    const prologue =
      typeof value.prologue === 'string' && /^([0-9a-f]{2})+$/.test(value.prologue) ? value.prologue : undefined;
    return prologue === undefined ? { lease: value.lease } : { lease: value.lease, prologue };
  }

  saveLease(id: string, state: LeaseState): Promise<void> {
    return this.#write(`download-${id}`, state);
  }

  removeUpload(key: string): Promise<void> {
    return this.#remove(key);
  }

  removeLease(id: string): Promise<void> {
    return this.#remove(`download-${id}`);
  }

  #path(name: string, owner: TempOwner = this.#owner): string {
    return join(this.dir!, `${name}-${owner.host}-${owner.pid}.json`);
  }

  /** This process's state `name`, or one of a process that is gone, taken over; undefined when there is none. */
  async #claim(name: string): Promise<Record<string, unknown> | undefined> {
    if (this.dir === undefined) return undefined;
    const mine = this.#path(name);
    const own = await this.#read(mine);
    if (own !== undefined) return own;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return undefined;
    }
    for (const entry of names) {
      const m = /^(.+)-([0-9a-f]{8})-(\d+)\.json$/.exec(entry);
      if (m === null || m[1] !== name || !ownerGone({ host: m[2]!, pid: Number(m[3]) }, this.#owner)) continue;
      try {
        await rename(join(this.dir, entry), mine);
      } catch {
        continue; // another process took it first
      }
      const value = await this.#read(mine);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  async #read(path: string): Promise<Record<string, unknown> | undefined> {
    try {
      const value: unknown = JSON.parse(await readFile(path, 'utf8'));
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined; // none, or unreadable: the command starts afresh
    }
  }

  /** Written whole under a temporary name and renamed, so a kill never leaves half a state. */
  async #write(name: string, value: object): Promise<void> {
    if (this.dir === undefined) {
      throw createError('FILE_ERROR', 'no folder for the drop state: neither HOME nor XDG_STATE_HOME is set', {
        hint: 'Set HOME (or XDG_STATE_HOME) to an absolute path.',
      });
    }
    const path = this.#path(name);
    const temp = `${path}.${toHex(secureRandomBytes(6))}.tmp`;
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeFile(temp, JSON.stringify(value) + '\n', { mode: 0o600, flag: 'wx' });
      await rename(temp, path);
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw fileError(err, 'write', path);
    }
  }

  async #remove(name: string): Promise<void> {
    if (this.dir !== undefined) await unlink(this.#path(name)).catch(() => {});
  }
}
