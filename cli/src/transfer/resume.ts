/**
 * The receiver's side of a resume (PROTOCOL.md §4.12): before answering a file offer it looks for what an
 * interrupted receive of the same offer left beside the target, takes it over and claims its prefix; `--no-resume`
 * discards it instead. What the sender answers decides the rest (transfer/receive.ts).
 */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ErrorCode, Offer, RandomBytes, ResumeClaim, Sha256 } from '@portunus/protocol';
import { nodeSha256 } from '@portunus/protocol/node';
import { fileError } from '../files/fs-errors.js';
import { hashPrefix } from '../files/prefix-hash.js';
import { adopt, discard, findPartials, type Partial } from '../files/resume-state.js';
import { quoteForTerminal } from '../files/sanitize.js';
import type { Target } from '../files/target.js';
import { formatBytes } from '../ui/format.js';
import type { Reporter } from '../ui/reporter.js';

export interface Resumed {
  partial: Partial;
  claim: ResumeClaim;
  /** The hash after the prefix: the whole file's SHA-256 goes on from it. */
  hash: Sha256;
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

/** Finds and takes over a partial of `offer` at `target`, or discards them all under --no-resume. */
export async function resumePartial(
  target: Extract<Target, { kind: 'path' }>,
  offer: Extract<Offer, { kind: 'file' }>,
  opts: { resume: boolean; random: RandomBytes; reporter: Reporter },
): Promise<Resumed | undefined> {
  const identity = { target: basename(target.path), name: offer.name, size: offer.size, mode: offer.mode };
  const found = await findPartials(target.path, identity);
  let taken: Partial | undefined;
  for (const partial of found) {
    if (opts.resume && taken === undefined && partial.bytes > 0) {
      taken = await adopt(partial, target.path, opts.random);
      if (taken !== undefined) continue;
    }
    // Another partial of the same offer (or --no-resume): nothing will ever use it.
    await discard(partial);
    if (!opts.resume) sayDiscarded(opts.reporter, partial, 'no-resume');
  }
  if (taken === undefined) return undefined;
  const handle = await open(taken.part, 'r').catch((err: unknown) =>
    Promise.reject(fileError(err, 'read', taken.part)),
  );
  try {
    const hash = await hashPrefix(handle, taken.bytes, nodeSha256, taken.part);
    return { partial: taken, claim: { bytes: taken.bytes, sha256: hash.copy().digestHex() }, hash };
  } finally {
    await handle.close();
  }
}

/** A partial given up: a line, and the `discarded` event. */
export function sayDiscarded(reporter: Reporter, partial: Partial, reason: 'mismatch' | 'no-resume'): void {
  reporter.event({ event: 'discarded', path: partial.part, bytes: partial.bytes, reason });
  const why = reason === 'mismatch' ? "does not match the sender's file" : 'is not used (--no-resume)';
  reporter.say(
    `The partial file ${quoteForTerminal(partial.part, 400)} (${formatBytes(partial.bytes)}) ${why}: starting from zero.`,
  );
}
