/**
 * The end of a successful transfer, for people and for scripts. Each figure has one meaning (README "For scripts
 * and CI"): `bytes` is the payload of the data stream (a file's bytes, a folder's tar stream, standard input),
 * the rate is over the data phase only (the bar's rate, from the same DataPhase), and `seconds` is the whole
 * transfer from pairing to the receipt (key exchange and the receiver's answer included).
 */
import type { Offer, PathKind } from '@portunus/protocol';
import type { FileDigest } from '../files/manifest.js';
import { sanitizeForTerminal } from '../files/sanitize.js';
import { formatBytes, formatRate, formatSeconds } from './format.js';
import type { DropFields, Reporter } from './reporter.js';

export interface Finished {
  offer: Offer;
  bytes: number;
  /** Of `bytes`, those the receiver already held (a resume): not sent in this run. */
  reused?: number;
  sha256: string;
  /** From pairing to the end. */
  seconds: number;
  transport?: PathKind;
  /** Receiver: where the data went (undefined: standard output, or a text message); a bundle's output folder. */
  path?: string;
  /** Folders and bundles: each file's SHA-256. */
  files?: readonly FileDigest[];
  /** Receiver of a bundle: where each top-level entry landed. */
  entries?: readonly { name: string; path: string }[];
  /** A stored drop (`send --drop`, `receive D-…`). */
  drop?: DropFields;
}

export function reportDone(reporter: Reporter, role: 'send' | 'receive', done: Finished): void {
  const dataSeconds = reporter.dataSeconds();
  const text = role === 'receive' && done.offer.kind === 'text' ? done.offer.text : undefined;
  const reused = done.reused ?? 0;
  // The rate is of what moved in this run.
  const moved = done.bytes - reused;
  reporter.event({
    event: 'done',
    bytes: done.bytes,
    ...(reused > 0 ? { reused } : {}),
    sha256: done.sha256 || undefined,
    transport: done.transport,
    seconds: milliRound(done.seconds),
    ...(dataSeconds === undefined
      ? {}
      : { dataSeconds: milliRound(dataSeconds), bytesPerSecond: Math.round(rateOf(moved, dataSeconds)) }),
    path: done.path,
    text,
    files: done.files,
    entries: done.entries?.map((e) => ({ name: sanitizeForTerminal(e.name), path: e.path })),
    drop: done.drop,
  });
  if (done.offer.kind === 'text') {
    if (role === 'send') reporter.say('Text message sent.');
    return;
  }
  const what = `${formatBytes(done.bytes)}${folderNote(done.offer)}${reused > 0 ? ` (${formatBytes(reused)} of it resumed)` : ''}`;
  const speed =
    dataSeconds === undefined
      ? ''
      : ` in ${formatSeconds(dataSeconds)}${dataSeconds > 0 ? ` (${formatRate(rateOf(moved, dataSeconds))})` : ''}`;
  const via =
    done.transport === undefined || done.transport === 'relay'
      ? 'the relay'
      : `a direct connection (${done.transport})`;
  const total =
    done.drop === undefined
      ? `${formatSeconds(done.seconds)} in all, with the key exchange and the answer`
      : `${formatSeconds(done.seconds)} in all`;
  if (role === 'send') {
    reporter.say(`${done.drop === undefined ? 'Sent' : 'Uploaded'} ${what}${speed} via ${via}; ${total}.`);
  } else {
    const where = done.path === undefined ? 'standard output' : sanitizeForTerminal(done.path);
    reporter.say(`Received ${what}${speed} via ${via} → ${where}; ${total}.`);
  }
  reporter.say(`SHA-256 ${done.sha256}`);
}

/** A folder travels as a tar stream: its files' bytes plus tar headers, so the two sizes differ. */
function folderNote(offer: Offer): string {
  if (offer.kind !== 'folder' && offer.kind !== 'bundle') return '';
  return ` (a tar stream of ${offer.files} file${offer.files === 1 ? '' : 's'}, ${formatBytes(offer.bytes)})`;
}

function rateOf(bytes: number, seconds: number): number {
  return seconds > 0 ? bytes / seconds : 0;
}

function milliRound(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
