/**
 * The offer as the file layer sees it. The wire shape and its type live in the protocol core (packages/protocol
 * offer.ts, shared with the session machine); this stricter parser adds what only matters once names reach a
 * disk or a terminal: names must be safe single components, modes are 0o644 or 0o755, and a folder's tar size
 * must be able to hold the files it claims.
 */
import { parseOffer as parseWireOffer, PortunusError, createError, type Offer } from '@portunus/protocol';
import { safeComponentName } from './sanitize.js';
import { TAR_BLOCK, TAR_END_SIZE } from './tar-size.js';

export type { Offer } from '@portunus/protocol';

/** Permission bits a file offer may carry: only whether it is executable travels. */
export const FILE_MODES: readonly number[] = [0o644, 0o755];

export function parseFileOffer(value: unknown): Offer | PortunusError {
  const offer = parseWireOffer(value);
  if (offer instanceof PortunusError) return offer;
  if (offer.kind === 'text') return offer;
  if (offer.kind === 'bundle') return checkBundle(offer);
  const name = safeComponentName(offer.name);
  if (name instanceof PortunusError) return name;
  if (offer.kind === 'file' && offer.mode !== undefined && !FILE_MODES.includes(offer.mode)) {
    return createError('PROTOCOL', 'invalid offer: mode must be 0o644 or 0o755');
  }
  if (offer.kind === 'folder' && offer.size < minimumTarSize(offer.files, offer.bytes)) {
    return createError('PROTOCOL', 'invalid offer: the folder size cannot hold the files it lists');
  }
  return offer;
}

/** Every entry's name is one safe component; the size must hold a header per folder and per file, and the files. */
function checkBundle(offer: Extract<Offer, { kind: 'bundle' }>): Offer | PortunusError {
  for (const entry of offer.entries) {
    const name = safeComponentName(entry.name);
    if (name instanceof PortunusError) return name;
  }
  const folders = offer.entries.filter((e) => e.type === 'folder').length;
  if (offer.size < (folders + offer.files) * TAR_BLOCK + offer.bytes + TAR_END_SIZE) {
    return createError('PROTOCOL', 'invalid offer: the bundle size cannot hold the files it lists');
  }
  return offer;
}

/** Smallest tar that holds a top-level directory and `files` files of `bytes` bytes in all. */
function minimumTarSize(files: number, bytes: number): number {
  return TAR_BLOCK + files * TAR_BLOCK + bytes + TAR_END_SIZE;
}

/** File mode for an executable-or-not file (setuid, setgid and sticky never travel). */
export function fileModeFor(executable: boolean): number {
  return executable ? 0o755 : 0o644;
}
