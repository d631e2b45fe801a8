/**
 * Refuses an offer up front (DISK_FULL, before the receiver accepts) when the target's file system surely lacks the
 * room, so a full disk costs neither the data nor the code. An estimate, not a reservation: the write path still
 * turns ENOSPC into DISK_FULL when other programs fill the disk meanwhile.
 */
import { statfs } from 'node:fs/promises';
import { createError, type Offer } from '@portunus/protocol';
import { formatBytes } from '../ui/format.js';
import { quoteForTerminal } from './sanitize.js';

/** Room kept beyond the data, for the file system's own bookkeeping (folders, inodes, journal). */
export const FREE_SPACE_MARGIN = 1024 * 1024;

export type SizedOffer = Extract<Offer, { kind: 'file' | 'folder' | 'bundle' }>;

/**
 * Bytes an offer needs on a file system of `blockSize`-byte blocks: the offered size (for a folder its tar length,
 * which already holds 512 bytes per entry), one block per file for its partly filled last block (and one for the
 * top-level folder, or a bundle's staging folder), plus FREE_SPACE_MARGIN.
 */
export function spaceNeeded(offer: SizedOffer, blockSize: number): number {
  const files = offer.kind === 'file' ? 1 : offer.files + 1;
  return offer.size + files * blockSize + FREE_SPACE_MARGIN;
}

/** Available to this user (`bavail`, not `bfree`, which counts blocks kept for root). */
interface SpaceInfo {
  bsize: number;
  bavail: number;
}

/**
 * Throws DISK_FULL when `folder`'s file system has less room than the offer needs. A file system that cannot say
 * (statfs unsupported) is not refused: the write path still reports a full disk. `held`: bytes of the offer already
 * on that disk (a partial to resume, PROTOCOL.md §4.12; discarded instead, they free as much).
 */
export async function checkFreeSpace(folder: string, offer: SizedOffer, held = 0): Promise<void> {
  let info: SpaceInfo;
  try {
    info = await statfs(folder);
  } catch {
    return;
  }
  const available = info.bavail * info.bsize;
  const needed = spaceNeeded(offer, info.bsize) - held;
  if (available < needed) {
    throw createError(
      'DISK_FULL',
      `not enough free space in ${quoteForTerminal(folder, 400)}: ${formatBytes(needed)} needed, ${formatBytes(available)} free`,
    );
  }
}
