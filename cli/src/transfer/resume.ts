/**
 * The receiver's side of a resume (PROTOCOL.md §4.12): before answering a file, folder or bundle offer it looks
 * for what an interrupted receive of the same offer left beside the target, takes it over and claims its prefix
 * (a folder's: the tar prefix rebuilt from its part, tar-resume.ts); `--no-resume` discards it instead. What the sender answers decides the rest (transfer/receive.ts).
 */
import { open } from 'node:fs/promises';
import type { ErrorCode, RandomBytes, ResumeClaim, Sha256 } from '@portunus/protocol';
import { nodeSha256 } from '@portunus/protocol/node';
import { fileError } from '../files/fs-errors.js';
import { hashPrefix } from '../files/prefix-hash.js';
import { adopt, discard, findPartials, resumeIdentity, type Partial } from '../files/resume-state.js';
import { quoteForTerminal } from '../files/sanitize.js';
import { partTarget, type ResumableOffer, type ResumableTarget } from '../files/sink.js';
import { rebuildPrefix, type TarPrefix } from '../files/tar-resume.js';
import { formatBytes } from '../ui/format.js';
import type { Reporter } from '../ui/reporter.js';

export interface Resumed {
  partial: Partial;
  claim: ResumeClaim;
  /** The hash after the prefix: the whole stream's SHA-256 goes on from it. */
  hash: Sha256;
  /** A folder or bundle: what the part holds (tar-resume.ts). */
  prefix?: TarPrefix;
}

/**
 * Failures after which a partial is worth keeping: the data written is right, the transfer was cut short. After the
 * others it is removed: corrupt data, a file problem, a refusal, and a cancel (a person on either side said stop).
 */
const INTERRUPTIONS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'INTERRUPTED',
  'PEER_GONE',
  'PEER_FAILED',
  'RELAY_UNREACHABLE',
  'RELAY_SHUTDOWN',
  'IDLE_TIMEOUT',
  'TIMEOUT',
  'DIRECT_FAILED',
]);

export function isInterruption(code: ErrorCode | undefined): boolean {
  return code !== undefined && INTERRUPTIONS.has(code);
}

/** Bytes of `offer` the largest partial beside `target` holds (a resume would reuse them if they match). */
export async function partialHeld(target: ResumableTarget, offer: ResumableOffer): Promise<number> {
  const where = partTarget(target);
  return (await findPartials(where, resumeIdentity(where, offer)))[0]?.bytes ?? 0;
}

/** Finds and takes over a partial of `offer` at `target`, or discards them all under --no-resume. */
export async function resumePartial(
  target: ResumableTarget,
  offer: ResumableOffer,
  opts: { resume: boolean; random: RandomBytes; reporter: Reporter },
): Promise<Resumed | undefined> {
  const where = partTarget(target);
  const found = await findPartials(where, resumeIdentity(where, offer));
  let taken: Partial | undefined;
  for (const partial of found) {
    if (opts.resume && taken === undefined && partial.bytes > 0) {
      taken = await adopt(partial, where, opts.random);
      if (taken !== undefined) continue;
    }
    // Another partial of the same offer (or --no-resume): nothing will ever use it.
    await discard(partial);
    if (!opts.resume) sayDiscarded(opts.reporter, partial, 'no-resume');
  }
  if (taken === undefined) return undefined;
  if (offer.kind !== 'file') {
    const prefix = await rebuildPrefix(taken, nodeSha256);
    if (prefix !== undefined) {
      const claim = { bytes: prefix.bytes, sha256: prefix.hash.copy().digestHex() };
      return { partial: taken, claim, hash: prefix.hash, prefix };
    }
    await discard(taken);
    sayDiscarded(opts.reporter, taken, 'changed');
    return undefined;
  }
  const part = taken.part;
  const handle = await open(part, 'r').catch((err: unknown) => Promise.reject(fileError(err, 'read', part)));
  try {
    const hash = await hashPrefix(handle, taken.bytes, nodeSha256, part);
    return { partial: taken, claim: { bytes: taken.bytes, sha256: hash.copy().digestHex() }, hash };
  } finally {
    await handle.close();
  }
}

/** A partial given up: a line, and the `discarded` event. */
export function sayDiscarded(reporter: Reporter, partial: Partial, reason: 'mismatch' | 'changed' | 'no-resume'): void {
  reporter.event({ event: 'discarded', path: partial.part, bytes: partial.bytes, reason });
  const why = {
    mismatch: "does not match the sender's data",
    changed: 'changed since it was received',
    'no-resume': 'is not used (--no-resume)',
  }[reason];
  reporter.say(
    `The partial copy ${quoteForTerminal(partial.part, 400)} (${formatBytes(partial.bytes)}) ${why}: starting from zero.`,
  );
}
