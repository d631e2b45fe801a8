/**
 * What a tar receive (tar-sink.ts) is given: the offer it checks the tar against, how the tar's entries map into
 * its temporary root and are put in place (a folder, folder-sink.ts; a bundle, bundle-sink.ts), and for a
 * resumable receive its journal and what the part held when it was taken over.
 */
import { createError, PortunusError, type Offer } from '@portunus/protocol';
import type { EntryKind } from './entry-check.js';
import type { Manifest } from './manifest.js';
import { sanitizeForTerminal } from './sanitize.js';
import type { ResolvedSinkOptions } from './sink.js';
import type { TarJournal } from './tar-journal.js';
import type { TarPrefix } from './tar-resume.js';

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

export type TarSinkOptions = ResolvedSinkOptions & { manifest?: Manifest };

/** A resumable receive: its journal, and what the part holds when it was taken over. */
export interface TarResume {
  journal: TarJournal;
  prefix?: TarPrefix;
}

export function tarError(err: unknown): PortunusError {
  if (err instanceof PortunusError) return err;
  const message = sanitizeForTerminal(err instanceof Error ? err.message : String(err));
  return createError('PROTOCOL', `the folder data is not a valid tar stream (${message})`, { cause: err });
}
