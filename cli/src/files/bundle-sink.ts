/**
 * A received bundle (`portunus send a.txt photos/`): the tar is unpacked by the folder sink into one temporary
 * folder beside the entries' destination, then each top-level entry is moved to its own place (target.ts: its
 * name, another under --rename). The moves are one rename each and never clobber what appeared meanwhile unless
 * --overwrite was given; the temporary folder is removed afterwards. Entries already moved stay when a later move
 * fails: each is complete and checked by then (PROTOCOL.md §4.7).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createError, PortunusError, type Offer } from '@portunus/protocol';
import { checkBundleEntryName } from '@portunus/client';
import { fileError } from './fs-errors.js';
import { makeRoot } from './folder-sink.js';
import { TarSink, type TarLayout, type TarResume, type TarSinkOptions } from './tar-sink.js';
import { placeFile, placeFolder, syncParent } from './place.js';
import { quoteForTerminal } from './sanitize.js';
import type { PlacedEntry } from './target.js';

export async function openBundleSink(
  folder: string,
  entries: readonly PlacedEntry[],
  offer: Extract<Offer, { kind: 'bundle' }>,
  opts: TarSinkOptions,
  resume?: { root: string; resume: TarResume },
): Promise<TarSink> {
  const types = new Map(offer.entries.map((e) => [e.name, e.type]));
  const seen = new Set<string>();
  const layout: TarLayout = {
    parts: (name, kind) => {
      const parts = checkBundleEntryName(name, types, kind);
      if (parts instanceof PortunusError) return parts;
      seen.add(parts[0]!);
      return { parts, top: 1 };
    },
    finish: () => {
      const missing = offer.entries.find((e) => !seen.has(e.name));
      return missing === undefined
        ? undefined
        : createError('PROTOCOL', `the data lacks the offered entry ${quoteForTerminal(missing.name)}`);
    },
    place: async (root) => {
      for (const entry of entries) {
        const from = join(root, entry.name);
        try {
          if (entry.type === 'file') await placeFile(from, entry.path, entry.replace);
          else await placeFolder(from, entry.path, entry.replace, opts.random, opts.onWarning);
        } catch (err) {
          throw fileError(err, 'create', entry.path);
        }
      }
      await rm(root, { recursive: true, force: true }).catch((err: unknown) => {
        opts.onWarning(fileError(err, 'remove the temporary folder', root).message);
      });
      await syncParent(join(folder, entries[0]?.name ?? '.'));
      return folder;
    },
  };
  const root = resume?.root ?? (await makeRoot(bundleRoot(folder), opts));
  return TarSink.open(root, layout, offer, opts, resume?.resume);
}

/** Where a bundle's part lies, named as if it were an entry `bundle` of the folder. */
export function bundleRoot(folder: string): string {
  return join(folder, 'bundle');
}
