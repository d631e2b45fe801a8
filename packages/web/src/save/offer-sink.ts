/**
 * The Sink for an accepted offer in the page: a file is saved as it comes, checked against its offered size as the
 * CLI's file sink checks it; a folder's tar is turned into a zip on the way (archive/tar-to-zip.ts), so it is saved
 * as one `<name>.zip` that Windows and macOS open (and so is a bundle of several files and folders). A failure aborts what was saved.
 */
import { createError, type Offer } from '@portunus/protocol';
import type { Sink } from '@portunus/client';
import { TarToZip } from '../archive/tar-to-zip.js';
import type { Saver } from './saver.js';

export async function openOfferSink(saver: Saver, offer: Offer): Promise<Sink> {
  switch (offer.kind) {
    case 'file':
      return limited(await saver.open(offer.name, offer.size), offer.size, (chunk, inner) => inner.write(chunk));
    case 'folder':
    case 'bundle': {
      const converter = new TarToZip(offer);
      const inner = await saver.open(zipName(offer), undefined, offer.bytes);
      return limited(
        inner,
        offer.size,
        async (chunk) => {
          for (const piece of converter.push(chunk)) await inner.write(piece);
        },
        () => inner.write(converter.finish()),
      );
    }
    case 'stream':
      return saver.open(offer.name, undefined);
    case 'text':
      throw createError('INTERNAL', 'a text message has no data to save');
  }
}

/** A folder is saved as `<name>.zip`; a bundle, whose entries have no common name, as `portunus-<n>-entries.zip`. */
export function zipName(offer: Extract<Offer, { kind: 'folder' | 'bundle' }>): string {
  return offer.kind === 'folder' ? `${offer.name}.zip` : `portunus-${offer.entries.length}-entries.zip`;
}

/** Exactly `size` bytes reach `write`, or the sink fails with CORRUPT (as PROTOCOL.md §4.6 says for folders). */
function limited(
  inner: Sink,
  size: number,
  write: (chunk: Uint8Array, inner: Sink) => Promise<void>,
  end: () => Promise<void> = async () => {},
): Sink {
  let received = 0;
  const failing = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      await inner.abort();
      throw err;
    }
  };
  return {
    write: (chunk) =>
      failing(async () => {
        received += chunk.length;
        if (received > size) throw createError('CORRUPT', `the sender sent more than the ${size} bytes it offered`);
        await write(chunk, inner);
      }),
    commit: () =>
      failing(async () => {
        if (received !== size) {
          throw createError('CORRUPT', `the data ended after ${received} of the ${size} bytes offered`);
        }
        await end();
        return inner.commit();
      }),
    abort: () => inner.abort(),
  };
}
