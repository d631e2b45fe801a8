/**
 * Where a received offer goes, decided before the receiver accepts, so an existing file or an unwritable folder
 * is refused before a byte is sent.
 */
import type { Stats } from 'node:fs';
import { access, constants, lstat, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { createError, PortunusError, type Offer } from '../protocol.js';
import { errnoOf, fileError } from './fs-errors.js';
import { quoteForTerminal, safeComponentName } from './sanitize.js';

export type Target =
  | { kind: 'stdout' }
  /** `replace`: something is already there and --overwrite was given; it is replaced at commit, not before. */
  | { kind: 'path'; path: string; replace: boolean };

export interface TargetOptions {
  /** A path, an existing folder to receive into, or '-' for standard output. */
  output?: string;
  cwd: string;
  overwrite: boolean;
}

/**
 * output omitted → `<cwd>/<offered name>`; output an existing folder → `<output>/<offered name>`; otherwise the
 * output path itself. Throws FILE_EXISTS (exists, no --overwrite, or of the other kind: a file never replaces a
 * folder nor the reverse), FILE_ERROR (parent missing or not writable) or UNSAFE_PATH (offered name unsafe).
 */
export async function checkTarget(offer: Offer, opts: TargetOptions): Promise<Target> {
  if (offer.kind === 'text') throw createError('INTERNAL', 'a text message has no file target');
  if (opts.output === '-') return { kind: 'stdout' };
  const name = safeComponentName(offer.name);
  if (name instanceof PortunusError) throw name;
  const path = await targetPath(name, opts);
  const existing = await statIfExists(path);
  if (existing !== undefined) {
    if (!opts.overwrite) throw exists(path, 'it already exists');
    const isFolder = existing.isDirectory();
    if (offer.kind === 'folder' ? !isFolder && !existing.isSymbolicLink() : isFolder) {
      throw exists(path, `it is ${isFolder ? 'a folder' : 'not a folder'}; --overwrite replaces only the same kind`);
    }
  }
  await checkParent(dirname(path));
  return { kind: 'path', path, replace: existing !== undefined };
}

async function targetPath(name: string, opts: TargetOptions): Promise<string> {
  if (opts.output === undefined || opts.output === '') return join(resolve(opts.cwd), name);
  const out = resolve(opts.cwd, opts.output);
  // Following a link here is right: the user named this path.
  const st = await statIfExists(out, stat);
  if (st?.isDirectory()) return join(out, name);
  if (st === undefined && (opts.output.endsWith('/') || opts.output.endsWith(sep))) {
    throw createError('FILE_ERROR', `the folder ${quoteForTerminal(opts.output)} does not exist`);
  }
  return out;
}

async function statIfExists(path: string, how: typeof stat | typeof lstat = lstat): Promise<Stats | undefined> {
  try {
    return await how(path);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw fileError(err, 'use', path);
  }
}

async function checkParent(parent: string): Promise<void> {
  let st;
  try {
    st = await stat(parent);
  } catch (err) {
    throw fileError(err, 'write into', parent);
  }
  if (!st.isDirectory()) throw createError('FILE_ERROR', `${quoteForTerminal(parent)} is not a folder`);
  try {
    await access(parent, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw fileError(err, 'write into', parent);
  }
}

function exists(path: string, why: string): PortunusError {
  return createError('FILE_EXISTS', `not receiving into ${quoteForTerminal(path, 400)}: ${why}`);
}
