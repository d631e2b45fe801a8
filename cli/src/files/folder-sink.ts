/**
 * A received folder: its tar is unpacked by TarSink (tar-sink.ts) inside a 0700 `.part` folder beside the target
 * (temp-path.ts), renamed into place on commit. A bundle (several top-level entries) goes through the same sink
 * with another TarLayout (bundle-sink.ts).
 */
import { mkdir } from 'node:fs/promises';
import { PortunusError, type Offer } from '@portunus/protocol';
import { checkEntryName } from './entry-check.js';
import { fileError } from './fs-errors.js';
import { placeFolder } from './place.js';
import type { ResolvedSinkOptions } from './sink.js';
import { TarSink, type TarLayout, type TarResume, type TarSinkOptions } from './tar-sink.js';
import { tempSibling } from './temp-path.js';

export { TarSink, type TarLayout, type TarOffer } from './tar-sink.js';

export async function openFolderSink(
  path: string,
  replace: boolean,
  offer: Extract<Offer, { kind: 'folder' }>,
  opts: TarSinkOptions,
  resume?: { root: string; resume: TarResume },
): Promise<TarSink> {
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
  return TarSink.open(resume?.root ?? (await makeRoot(path, opts)), layout, offer, opts, resume?.resume);
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
