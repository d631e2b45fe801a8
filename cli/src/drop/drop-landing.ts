/**
 * Where a drop's data lands, decided from its offer as a live receive decides (transfer/receive.ts): the file
 * layer's offer check, the target, the question (with what an interrupted download left here), then the sink — a
 * file's resumable, continuing its partial copy from the last complete 1 MiB (drop-resume.ts).
 */
import { createError, type Offer, offerSize, PortunusError, type Sha256 } from '@portunus/protocol';
import { nodeSha256 } from '@portunus/protocol/node';
import { Manifest } from '../files/manifest.js';
import { parseFileOffer } from '../files/offer.js';
import { checkTarget, openResumableSink, openSink, type ResumableSink, type Sink } from '../files/sink.js';
import type { TransferContext } from '../transfer/context.js';
import type { ReceiveOptions } from '../transfer/receive.js';
import { sayResumed } from '../ui/data-events.js';
import { describeOffer, offerEvent } from '../ui/describe.js';
import { formatBytes } from '../ui/format.js';
import { confirm } from '../ui/prompt.js';
import type { DropFields } from '../ui/reporter.js';
import { resumeFile } from './drop-resume.js';

export interface Landing {
  /** None for a text message. */
  sink?: Sink;
  /** A file landing at a path: kept when the download is interrupted. */
  resumable?: ResumableSink;
  /** The data's SHA-256 so far (after the kept prefix). */
  hash: Sha256;
  /** Plaintext bytes already in the part: a multiple of 1 MiB. */
  from: number;
  /** A folder or bundle: each file's SHA-256 as written. */
  manifest?: Manifest;
}

export async function landOffer(
  ctx: TransferContext,
  opts: Omit<ReceiveOptions, 'code'>,
  offer: Offer,
  drop: DropFields,
): Promise<Landing> {
  const { reporter } = ctx;
  const checked = parseFileOffer(offer);
  if (checked instanceof PortunusError) throw checked;
  if (offer.kind === 'text') {
    reporter.event({ ...offerEvent(offer), drop });
    return { hash: nodeSha256(), from: 0 };
  }
  const target = await checkTarget(offer, opts);
  const single = offer.kind === 'file' && target.kind === 'path' ? { offer, target } : undefined;
  const held =
    single !== undefined && opts.resume
      ? ((await resumeFile(single.target, single.offer, ctx, 'peek'))?.bytes ?? 0)
      : 0;
  reporter.event({ ...offerEvent(offer, held), drop });
  reporter.say(`Offered: ${describeOffer(offer)}`);
  const question =
    held > 0
      ? `${formatBytes(held)} of ${formatBytes(offerSize(offer) ?? held)} already here from an interrupted download; resume?`
      : 'Receive?';
  if (
    !opts.yes &&
    !(await confirm({ ...ctx.prompt, signal: ctx.signal }, question, 'Pass --yes to accept without asking.'))
  ) {
    throw createError('REJECTED', 'declined here', {
      hint: 'Nothing was kept; the drop stays on the relay while it has downloads left.',
    });
  }
  reporter.startProgress(offerSize(offer), 'Downloading');
  if (single === undefined) {
    const manifest = new Manifest();
    const sink = await openSink(target, offer, { stdout: opts.stdout, manifest });
    return { sink, hash: nodeSha256(), from: 0, manifest };
  }
  const resumed = await resumeFile(single.target, single.offer, ctx, opts.resume ? 'take' : 'discard');
  const sink = await openResumableSink(single.target, single.offer, resumed && { partial: resumed.partial });
  const from = resumed?.bytes ?? 0;
  if (from > 0) sayResumed(reporter, from, single.offer.size);
  return { sink, resumable: sink, hash: resumed?.hash ?? nodeSha256(), from };
}
