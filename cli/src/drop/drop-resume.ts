/**
 * A resumed download of a dropped file: what an interrupted receive of the same offer left beside the target (the
 * `.part` and `.resume` pair of resume-state.ts, as a live receive leaves it), cut back to its last complete 1 MiB
 * chunk — the stored format resumes at a chunk boundary (PROTOCOL.md §11.2) — and hashed, so the file's SHA-256
 * covers the kept prefix too.
 */
import { open } from 'node:fs/promises';
import { DROP_CHUNK_BYTES, type Offer, type Sha256 } from '@portunus/protocol';
import { nodeSha256 } from '@portunus/protocol/node';
import { fileError } from '../files/fs-errors.js';
import { hashPrefix } from '../files/prefix-hash.js';
import { adopt, discard, findPartials, resumeIdentity, type Partial } from '../files/resume-state.js';
import { partTarget, type ResumableTarget } from '../files/sink.js';
import type { TransferContext } from '../transfer/context.js';
import { sayDiscarded } from '../transfer/resume.js';

export interface FileResume {
  partial: Partial;
  /** The prefix kept: a multiple of 1 MiB. */
  bytes: number;
  hash: Sha256;
}

/**
 * `peek`: how much a resume would keep (nothing is touched); `take`: takes the largest partial over, cut back and
 * hashed, and discards the others; `discard`: discards them all (--no-resume).
 */
export async function resumeFile(
  target: ResumableTarget,
  offer: Extract<Offer, { kind: 'file' }>,
  ctx: Pick<TransferContext, 'random' | 'reporter'>,
  mode: 'peek' | 'take' | 'discard',
): Promise<FileResume | undefined> {
  const where = partTarget(target);
  const found = await findPartials(where, resumeIdentity(where, offer));
  // A whole chunk, and never past the last record's start: that record is read again, whole.
  const last = Math.max(0, Math.ceil(offer.size / DROP_CHUNK_BYTES) - 1) * DROP_CHUNK_BYTES;
  const chunked = (bytes: number) => Math.min(bytes - (bytes % DROP_CHUNK_BYTES), last);
  if (mode === 'peek') {
    const bytes = chunked(found[0]?.bytes ?? 0);
    return bytes > 0 ? { partial: found[0]!, bytes, hash: nodeSha256() } : undefined;
  }
  let taken: Partial | undefined;
  for (const partial of found) {
    if (mode === 'take' && taken === undefined && chunked(partial.bytes) > 0) {
      taken = await adopt(partial, where, ctx.random);
      if (taken !== undefined) continue;
    }
    await discard(partial);
    if (mode === 'discard') sayDiscarded(ctx.reporter, partial, 'no-resume');
  }
  if (taken === undefined) return undefined;
  const bytes = chunked(taken.bytes);
  const part = taken.part;
  const handle = await open(part, 'r').catch((err: unknown) => Promise.reject(fileError(err, 'read', part)));
  try {
    return { partial: { ...taken, bytes }, bytes, hash: await hashPrefix(handle, bytes, nodeSha256, part) };
  } finally {
    await handle.close();
  }
}
