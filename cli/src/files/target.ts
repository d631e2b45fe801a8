/**
 * Where a received offer goes. What the options alone decide is checked before connecting (checkOutput: a missing
 * or unwritable folder costs no code); the rest once the offer is known, before the receiver accepts, so an
 * existing file or a full disk is refused before a byte is sent.
 */
import type { Stats } from 'node:fs';
import { access, constants, lstat, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { createError, PortunusError, type Offer } from '@portunus/protocol';
import { errnoOf, fileError } from './fs-errors.js';
import { checkFreeSpace } from './free-space.js';
import { freeName } from './free-name.js';
import { findPartials, resumeIdentity } from './resume-state.js';
import { quoteForTerminal, safeComponentName } from './sanitize.js';

export type Target =
  | { kind: 'stdout' }
  /** `replace`: something is already there and --overwrite was given; it is replaced at commit, not before. */
  | { kind: 'path'; path: string; replace: boolean }
  /** A bundle's entries, side by side in `folder`. */
  | { kind: 'entries'; folder: string; entries: PlacedEntry[] };

/** Where one top-level entry of a bundle lands: `path` ends in another name than `name` under --rename. */
export interface PlacedEntry {
  name: string;
  type: 'file' | 'folder';
  path: string;
  replace: boolean;
}

export interface TargetOptions {
  /** A path, an existing folder to receive into, or '-' for standard output. */
  output?: string;
  cwd: string;
  overwrite: boolean;
  /** --rename: what would clash with an existing name gets a free one (`a (1).txt`). */
  rename?: boolean;
}

/**
 * output omitted → `<cwd>/<offered name>`; output an existing folder → `<output>/<offered name>`; otherwise the
 * output path itself. Throws FILE_EXISTS (exists, no --overwrite, or of the other kind: a file never replaces a
 * folder nor the reverse), FILE_ERROR (parent missing or not writable) or UNSAFE_PATH (offered name unsafe).
 */
export async function checkTarget(offer: Offer, opts: TargetOptions): Promise<Target> {
  if (offer.kind === 'text') throw createError('INTERNAL', 'a text message has no file target');
  if (opts.output === '-') return { kind: 'stdout' };
  if (offer.kind === 'bundle') return bundleTarget(offer, opts);
  const name = safeComponentName(offer.name);
  if (name instanceof PortunusError) throw name;
  let path = await targetPath(name, opts);
  const existing = await statIfExists(path);
  if (existing !== undefined && opts.rename === true) {
    path = join(
      dirname(path),
      await freeName(dirname(path), basename(path), offer.kind === 'folder' ? 'folder' : 'file'),
    );
  } else if (existing !== undefined) {
    checkReplace(path, existing, offer.kind === 'folder' ? 'folder' : 'file', opts);
  }
  await checkFolder(dirname(path));
  if (offer.kind !== 'stream') await checkFreeSpace(dirname(path), offer, await heldFor(path, offer));
  return { kind: 'path', path, replace: existing !== undefined && opts.rename !== true };
}

/**
 * What an offer already has beside `path`: the largest partial an interrupted receive left (resume-state.ts); a
 * bundle's lies beside `<folder>/bundle` (sink.ts partTarget).
 */
async function heldFor(path: string, offer: Extract<Offer, { kind: 'file' | 'folder' | 'bundle' }>): Promise<number> {
  return (await findPartials(path, resumeIdentity(path, offer)))[0]?.bytes ?? 0;
}

/** An existing target is replaced only with --overwrite, and only by the same kind (a file never by a folder). */
function checkReplace(path: string, existing: Stats, type: 'file' | 'folder', opts: TargetOptions): void {
  if (!opts.overwrite) throw exists(path, 'it already exists');
  const isFolder = existing.isDirectory();
  if (type === 'folder' ? !isFolder && !existing.isSymbolicLink() : isFolder) {
    throw exists(path, `it is ${isFolder ? 'a folder' : 'not a folder'}; --overwrite replaces only the same kind`);
  }
}

/**
 * A bundle lands in the working directory or the `-o` folder, each entry under its own name. Every clash is found
 * before answering: without --overwrite or --rename they are refused together (FILE_EXISTS), naming the first.
 */
async function bundleTarget(offer: Extract<Offer, { kind: 'bundle' }>, opts: TargetOptions): Promise<Target> {
  const folder = resolve(opts.cwd, opts.output === undefined || opts.output === '' ? '.' : opts.output);
  const st = await statIfExists(folder, stat);
  if (!st?.isDirectory()) {
    throw createError('FILE_ERROR', `${offer.entries.length} entries are offered, and they land in a folder`, {
      hint: 'Pass an existing folder to -o (or -o - for their tar stream on standard output).',
    });
  }
  await checkFolder(folder);
  const taken = new Set(offer.entries.map((e) => e.name));
  const entries: PlacedEntry[] = [];
  const clashes: string[] = [];
  for (const { name, type } of offer.entries) {
    const checked = safeComponentName(name);
    if (checked instanceof PortunusError) throw checked;
    const path = join(folder, name);
    const existing = await statIfExists(path);
    if (existing === undefined) {
      entries.push({ name, type, path, replace: false });
    } else if (opts.rename === true) {
      const free = await freeName(folder, name, type, taken);
      taken.add(free);
      entries.push({ name, type, path: join(folder, free), replace: false });
    } else {
      if (opts.overwrite) checkReplace(path, existing, type, opts);
      else clashes.push(name);
      entries.push({ name, type, path, replace: true });
    }
  }
  if (clashes.length > 0) {
    const more = clashes.length > 1 ? ` (and ${clashes.length - 1} more of the offered entries)` : '';
    throw exists(join(folder, clashes[0]!), `it already exists${more}`);
  }
  await checkFreeSpace(folder, offer, await heldFor(join(folder, 'bundle'), offer));
  return { kind: 'entries', folder, entries };
}

/**
 * Before connecting: the folder data would land in (the `-o` folder, the parent of the `-o` path, or cwd), after
 * checking what the options alone decide: that folder exists and is writable, and an `-o` naming an existing file
 * comes with --overwrite. undefined for standard output. Throws FILE_ERROR or FILE_EXISTS.
 */
export async function checkOutput(opts: TargetOptions): Promise<string | undefined> {
  if (opts.output === '-') return undefined;
  // Without -o the data lands in cwd, but only a file or folder offer needs to write there (a text one does not).
  if (opts.output === undefined || opts.output === '') return resolve(opts.cwd);
  const out = resolve(opts.cwd, opts.output);
  const st = await statIfExists(out, stat);
  if (st?.isDirectory()) {
    await checkFolder(out);
    return out;
  }
  if (st === undefined && endsWithSeparator(opts.output)) throw missingFolder(opts.output);
  if (st !== undefined && !opts.overwrite && opts.rename !== true) throw exists(out, 'it already exists');
  await checkFolder(dirname(out));
  return dirname(out);
}

async function targetPath(name: string, opts: TargetOptions): Promise<string> {
  if (opts.output === undefined || opts.output === '') return join(resolve(opts.cwd), name);
  const out = resolve(opts.cwd, opts.output);
  // Following a link here is right: the user named this path.
  const st = await statIfExists(out, stat);
  if (st?.isDirectory()) return join(out, name);
  if (st === undefined && endsWithSeparator(opts.output)) throw missingFolder(opts.output);
  return out;
}

function endsWithSeparator(output: string): boolean {
  return output.endsWith('/') || output.endsWith(sep);
}

function missingFolder(folder: string): PortunusError {
  return createError('FILE_ERROR', `the folder ${quoteForTerminal(folder, 400)} does not exist`, {
    hint: 'Create it first, or pass an existing folder to -o.',
  });
}

async function statIfExists(path: string, how: typeof stat | typeof lstat = lstat): Promise<Stats | undefined> {
  try {
    return await how(path);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw fileError(err, 'use', path);
  }
}

/** The folder a target goes in must exist and be writable. */
async function checkFolder(folder: string): Promise<void> {
  let st;
  try {
    st = await stat(folder);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') throw missingFolder(folder);
    throw fileError(err, 'write into', folder);
  }
  if (!st.isDirectory()) throw createError('FILE_ERROR', `${quoteForTerminal(folder, 400)} is not a folder`);
  try {
    await access(folder, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw fileError(err, 'write into', folder);
  }
}

function exists(path: string, why: string): PortunusError {
  return createError('FILE_EXISTS', `not receiving into ${quoteForTerminal(path, 400)}: ${why}`);
}
