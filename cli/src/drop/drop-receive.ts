/**
 * `portunus receive D-…`: download a stored drop (PROTOCOL.md §9.2, §9.3) and open it frame by frame into the
 * sinks a live receive uses (temporary name, final name only when complete), with the same offer checks, prompts
 * and options. The download's lease is kept in the state folder: an interrupted download of a single file
 * continues from its last complete 1 MiB chunk with a Range request (a folder or several paths start over, on the
 * same lease, without taking another download).
 */
import {
  createError,
  deriveDropKeys,
  DROP_CHUNK_BYTES,
  DropReader,
  type DropCode,
  type Offer,
  offerSize,
  PortunusError,
  type Sha256,
  storedOffsetOf,
} from '@portunus/protocol';
import { nodeAead, nodeSha256 } from '@portunus/protocol/node';
import { Manifest } from '../files/manifest.js';
import { parseFileOffer } from '../files/offer.js';
import { checkOutput, checkTarget, openResumableSink, openSink, type ResumableSink, type Sink } from '../files/sink.js';
import { describeSwept, sweepStaleTemps } from '../files/stale-temps.js';
import type { TransferContext } from '../transfer/context.js';
import { printText, type ReceiveOptions } from '../transfer/receive.js';
import { describeOffer, offerEvent } from '../ui/describe.js';
import { finishProgress, sayResumed } from '../ui/data-events.js';
import { formatBytes } from '../ui/format.js';
import { confirm } from '../ui/prompt.js';
import { DropHttp, type Download } from './drop-http.js';
import { resumeFile, type FileResume } from './drop-resume.js';
import { DropStates } from './drop-state.js';

export interface DropReceiveOptions extends Omit<ReceiveOptions, 'code'> {
  code: DropCode;
  stateDir: string | undefined;
}

export interface DropReceiveResult {
  offer: Offer;
  bytes: number;
  reused: number;
  sha256: string;
  seconds: number;
  path?: string;
  drop: { expires?: number; downloadsLeft?: number };
}

/** What the offer decided: where the data goes, and from which plaintext byte. */
interface Landing {
  sink?: Sink;
  resumable?: ResumableSink;
  hash: Sha256;
  from: number;
}

export async function receiveDrop(ctx: TransferContext, opts: DropReceiveOptions): Promise<DropReceiveResult> {
  const relayUrl = ctx.relayUrl;
  if (relayUrl === undefined) {
    throw createError('NO_RELAY', 'a drop is stored on a relay, and none is configured', {
      hint: 'Pass the relay the sender named: --relay ws://host:port (or set PORTUNUS_RELAY).',
    });
  }
  const { reporter } = ctx;
  const landing = await checkOutput(opts);
  for (const leftover of landing === undefined ? [] : await sweepStaleTemps(landing, (m) => reporter.warn(m))) {
    reporter.event({ event: 'swept', ...leftover });
    reporter.say(describeSwept(leftover));
  }
  const { id, key } = deriveDropKeys(opts.code);
  const reader = new DropReader(nodeAead(key));
  const states = new DropStates(opts.stateDir);
  const http = new DropHttp(relayUrl, ctx.relayCa, ctx.signal, ctx.stallMs);
  const started = ctx.now();
  let offer: Offer | undefined;
  let land: Landing | undefined;
  let download: Download | undefined;
  let path: string | undefined;
  let written = 0;
  let ok = false;
  try {
    download = await openDownload(ctx, http, states, id);
    const drop = { expires: download.expires, downloadsLeft: download.downloadsLeft };
    for (;;) {
      const resumeAt = await readBody(download, reader, async (piece) => {
        if (piece.type === 'offer') {
          offer = piece.offer;
          land = await landOffer(ctx, opts, piece.offer, drop);
          written = land.from;
          return land.from > 0 ? storedOffsetOf(piece.prologueBytes, land.from) : undefined;
        }
        await land!.sink!.write(piece.plaintext);
        land!.hash.update(piece.plaintext);
        written += piece.plaintext.length;
        reporter.updateProgress(written, offer === undefined ? undefined : offerSize(offer));
        return undefined;
      });
      if (resumeAt === undefined) break;
      // The part holds the first land.from bytes: the rest comes from their record on, on the same lease.
      reader.resumeAt(land!.from / DROP_CHUNK_BYTES);
      download = await http.download(id, { token: (await states.loadLease(id))!.lease, from: resumeAt });
    }
    reader.end();
    finishProgress(reporter, written, offer === undefined ? undefined : offerSize(offer));
    if (land?.sink !== undefined) path = await land.sink.commit();
    await states.removeLease(id);
    if (offer?.kind === 'text' && opts.textOut) printText(opts.textOut, offer.text);
    ok = true;
    return {
      offer: offer!,
      bytes: written,
      reused: land?.from ?? 0,
      sha256: offer?.kind === 'text' ? '' : land!.hash.digestHex(),
      seconds: (ctx.now() - started) / 1000,
      ...(path === undefined || path === '-' ? {} : { path }),
      drop,
    };
  } catch (err) {
    const error = interruption(err, ctx.signal);
    reporter.stopProgress();
    if (error.code === 'INTERRUPTED' || error.code === 'RELAY_UNREACHABLE') {
      const kept = await land?.resumable?.keep();
      if (kept !== undefined) {
        reporter.event({ event: 'kept', ...kept });
        reporter.say(
          `Kept the ${formatBytes(kept.bytes)} received so far: the same receive, run again, continues from there.`,
        );
      }
    } else if (error.code !== 'CANCELLED') {
      // A corrupt drop, a refusal here, a gone drop: nothing worth resuming.
      await states.removeLease(id);
    }
    throw error;
  } finally {
    reporter.stopProgress();
    download?.cancel();
    if (!ok) await land?.sink?.abort();
    await http.close();
  }
}

/** This drop's earlier lease (no new slot), else a fresh download, whose lease is recorded at once. */
async function openDownload(ctx: TransferContext, http: DropHttp, states: DropStates, id: string): Promise<Download> {
  const earlier = await states.loadLease(id);
  if (earlier !== undefined) {
    try {
      return await http.download(id, { token: earlier.lease, from: 0 });
    } catch (err) {
      if (!(err instanceof PortunusError) || err.code !== 'DROP_GONE') throw err;
      await states.removeLease(id);
      ctx.reporter.say('The lease of an interrupted download of this drop ended: starting a new download.');
    }
  }
  const download = await http.download(id);
  if (download.lease !== undefined) await states.saveLease(id, { lease: download.lease });
  return download;
}

/**
 * Feeds the body to the reader and each piece to `onPiece`; resolves with a stored offset to continue from (the
 * offer asked for a resume: this body is dropped), or undefined at the body's end. A cut body is INTERRUPTED.
 */
async function readBody(
  download: Download,
  reader: DropReader,
  onPiece: (piece: ReturnType<DropReader['push']>[number]) => Promise<number | undefined>,
): Promise<number | undefined> {
  let received = 0;
  for await (const chunk of download.body) {
    received += chunk.length;
    for (const piece of reader.push(chunk)) {
      const resumeAt = await onPiece(piece);
      if (resumeAt !== undefined) {
        download.cancel();
        return resumeAt;
      }
    }
  }
  if (received < download.length) {
    throw createError('INTERRUPTED', `the download ended after ${received} of ${download.length} bytes`);
  }
  return undefined;
}

/** Checks the offer as a live receive does, asks, and opens its sink (resuming a file's partial copy). */
async function landOffer(
  ctx: TransferContext,
  opts: DropReceiveOptions,
  offer: Offer,
  drop: { expires?: number; downloadsLeft?: number },
): Promise<Landing> {
  const { reporter } = ctx;
  const checked = parseFileOffer(offer);
  if (checked instanceof PortunusError) throw checked;
  if (offer.kind === 'text') {
    reporter.event({ ...offerEvent(offer), drop });
    return { hash: nodeSha256(), from: 0 };
  }
  const target = await checkTarget(offer, opts);
  const resumable = offer.kind === 'file' && target.kind === 'path' && opts.resume;
  let resumed: FileResume | undefined = resumable ? await resumeFile(target, offer, ctx, 'peek') : undefined;
  const held = resumed?.bytes ?? 0;
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
      hint: 'Nothing was kept; the drop stays on the relay if it has downloads left.',
    });
  }
  const manifest = new Manifest();
  if (offer.kind !== 'file' || target.kind !== 'path') {
    return { sink: await openSink(target, offer, { stdout: opts.stdout, manifest }), hash: nodeSha256(), from: 0 };
  }
  resumed = await resumeFile(target, offer, ctx, opts.resume ? 'take' : 'discard');
  const sink = await openResumableSink(target, offer, resumed && { partial: resumed.partial }, { manifest });
  const from = resumed?.bytes ?? 0;
  if (from > 0) sayResumed(reporter, from, offer.size);
  reporter.startProgress(offer.size, 'Downloading');
  return { sink, resumable: sink, hash: resumed?.hash ?? nodeSha256(), from };
}

/** What failed, as the user should hear it: a cut connection mid-body is an interruption, a Ctrl-C a cancel. */
function interruption(err: unknown, signal: AbortSignal): PortunusError {
  if (signal.aborted) return createError('CANCELLED', 'cancelled on this side', { cause: err });
  if (err instanceof PortunusError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return createError('INTERRUPTED', `the download was cut: ${message}`, {
    cause: err,
    hint: 'Run the same receive again: it continues from the last complete MiB.',
  });
}
