/** What a send reports of one receiver served, and the check of a receiver's resume claim against the source. */
import type { Digest, Offer, PathKind, ResumeClaim, Sha256 } from '@portunus/protocol';
import { nodeSha256 } from '@portunus/protocol/node';
import type { FileDigest } from '../files/manifest.js';
import type { Source } from '../files/source.js';

export interface SendResult extends Digest {
  offer: Offer;
  /** Bytes the receiver already held (a resume): counted in `bytes`, not sent again. */
  reused: number;
  seconds: number;
  /** The path that carried the data (none for a text message). */
  transport?: PathKind;
  /** Folders and bundles: each file's SHA-256, as read. */
  files?: readonly FileDigest[];
}

/** The hash after the file's first `claim.bytes` if their SHA-256 is the claim's; else undefined. */
export async function checkClaim(source: Source, claim: ResumeClaim): Promise<Sha256 | undefined> {
  if (source.hashPrefix === undefined) return undefined;
  const hash = await source.hashPrefix(claim.bytes, nodeSha256);
  return hash.copy().digestHex() === claim.sha256 ? hash : undefined;
}
