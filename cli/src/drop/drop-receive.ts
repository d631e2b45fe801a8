/**
 * `portunus receive D-…`: download a stored drop (PROTOCOL.md §11.2, §11.3) and open it frame by frame into the
 * sinks a live receive uses (temporary name, final name only when complete), with the same offer checks, prompts
 * and options. The download's lease and the drop's prologue are kept in the state folder (drop-state.ts): an
 * interrupted download of a single file continues from its last complete 1 MiB chunk with a Range request on the
 * same lease, taking no other download; a folder or several paths start over on that lease.
 */
import {
  createError,
  deriveDropKeys,
  DROP_CHUNK_BYTES,
  DropReader,
  type DropCode,
  type DropPiece,
  fromHex,
  type Key,
  type Offer,
  offerSize,
  PortunusError,
  storedOffsetOf,
  toHex,
} from '@portunus/protocol';
import { nodeAead } from '@portunus/protocol/node';
import type { FileDigest } from '../files/manifest.js';
import { checkOutput } from '../files/sink.js';
import { describeSwept, sweepStaleTemps } from '../files/stale-temps.js';
import type { TransferContext } from '../transfer/context.js';
import { printText, type ReceiveOptions } from '../transfer/receive.js';
import { finishProgress } from '../ui/data-events.js';
import { formatBytes } from '../ui/format.js';
import type { DropFields } from '../ui/reporter.js';
import { DropHttp, type Download } from './drop-http.js';
import { landOffer, type Landing } from './drop-landing.js';
import { DropStates } from './drop-state.js';
import { tuneGcForTransfer } from '../gc-flags.js';

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
  /** A folder or bundle: each file's SHA-256, as written. */
  files?: readonly FileDigest[];
  drop: DropFields;
}

export async function receiveDrop(ctx: TransferContext, opts: DropReceiveOptions): Promise<DropReceiveResult> {
  const relayUrl = ctx.relayUrl;
  if (relayUrl === undefined) {
    throw createError('NO_RELAY', 'a drop is stored on a relay, and none is configured', {
      hint: 'Pass the relay the sender named: --relay ws://host:port (or set PORTUNUS_RELAY).',
    });
  }
  const landing = await checkOutput(opts);
  for (const leftover of landing === undefined ? [] : await sweepStaleTemps(landing, (m) => ctx.reporter.warn(m))) {
    ctx.reporter.event({ event: 'swept', ...leftover });
    ctx.reporter.say(describeSwept(leftover));
  }
  const http = new DropHttp(relayUrl, ctx.relayCa, ctx.signal, ctx.stallMs);
  try {
    return await new DropDownload(ctx, opts, http, new DropStates(opts.stateDir)).run();
  } finally {
    await http.close();
  }
}

/** One receive of a drop: which request, where the data lands, how far it got. */
class DropDownload {
  readonly #id: string;
  readonly #key: Key<'drop'>;
  #reader: DropReader;
  #offer: Offer | undefined;
  #land: Landing | undefined;
  /** Plaintext bytes of the data read so far, kept ones included. */
  #position = 0;
  #body: Download | undefined;
  #lease: string | undefined;
  #drop: DropFields = {};
  readonly #started: number;

  constructor(
    private readonly ctx: TransferContext,
    private readonly opts: DropReceiveOptions,
    private readonly http: DropHttp,
    private readonly states: DropStates,
  ) {
    ({ id: this.#id, key: this.#key } = deriveDropKeys(opts.code));
    this.#reader = new DropReader(nodeAead(this.#key));
    this.#started = ctx.now();
  }

  async run(): Promise<DropReceiveResult> {
    const { reporter } = this.ctx;
    let ok = false;
    try {
      await this.#open();
      if (this.#body !== undefined) await this.#read(this.#body);
      this.#reader.end();
      const offer = this.#offer!;
      finishProgress(reporter, this.#position, offerSize(offer));
      const path = await this.#land?.sink?.commit();
      await this.#confirm();
      await this.states.removeLease(this.#id);
      if (offer.kind === 'text' && this.opts.textOut) printText(this.opts.textOut, offer.text);
      ok = true;
      return {
        offer,
        bytes: this.#position,
        reused: this.#land?.from ?? 0,
        sha256: offer.kind === 'text' ? '' : this.#land!.hash.digestHex(),
        seconds: (this.ctx.now() - this.#started) / 1000,
        ...(path === undefined || path === '-' ? {} : { path }),
        ...(this.#land?.manifest === undefined || offer.kind === 'file' ? {} : { files: this.#land.manifest.files() }),
        drop: this.#drop,
      };
    } catch (err) {
      throw await this.#failed(err);
    } finally {
      reporter.stopProgress();
      this.#body?.cancel();
      if (!ok) await this.#land?.sink?.abort();
    }
  }

  /**
   * Starts the download: on an earlier download's lease when there is one — from the data record the kept part
   * needs, when the drop's prologue was kept too — else a fresh download, whose lease is recorded at once.
   */
  async #open(): Promise<void> {
    const earlier = await this.states.loadLease(this.#id);
    if (earlier !== undefined) {
      this.#lease = earlier.lease;
      try {
        let from = 0;
        if (earlier.prologue !== undefined) {
          await this.#pieces(this.#reader.push(fromHex(earlier.prologue)));
          if (this.#offer?.kind === 'text') return;
          from = storedOffsetOf(earlier.prologue.length / 2, this.#land!.from);
          this.#reader.resumeAt(this.#land!.from / DROP_CHUNK_BYTES);
          this.#position = this.#land!.from;
        }
        this.#body = this.#described(await this.http.download(this.#id, { token: earlier.lease, from }));
        return;
      } catch (err) {
        if (!(err instanceof PortunusError) || err.code !== 'DROP_GONE') throw err;
        await this.states.removeLease(this.#id);
        this.ctx.reporter.say('The lease of an interrupted download of this drop ended: downloading it again.');
        this.#reader = new DropReader(nodeAead(this.#key));
        this.#position = 0;
      }
    }
    this.#body = this.#described(await this.http.download(this.#id));
    this.#lease = this.#body.lease;
    if (this.#lease !== undefined) await this.states.saveLease(this.#id, { lease: this.#lease });
  }

  #described(download: Download): Download {
    if (download.expires !== undefined) this.#drop.expires = download.expires;
    if (download.downloadsLeft !== undefined) this.#drop.downloadsLeft = download.downloadsLeft;
    return download;
  }

  /** Feeds the body to the reader; a body that ends short is INTERRUPTED. */
  async #read(download: Download): Promise<void> {
    let received = 0;
    for await (const chunk of download.body) {
      received += chunk.length;
      await this.#pieces(this.#reader.push(chunk));
    }
    if (received < download.length) {
      throw createError('INTERRUPTED', `the download ended after ${received} of ${download.length} bytes`);
    }
  }

  async #pieces(pieces: DropPiece[]): Promise<void> {
    for (const piece of pieces) {
      if (piece.type === 'offer') await this.#onOffer(piece.offer, piece.prologue);
      else await this.#onData(piece.plaintext);
    }
  }

  async #onOffer(offer: Offer, prologue: Uint8Array): Promise<void> {
    if (this.#offer !== undefined) {
      // Read again after a lease ended: it must be the offer the part was opened for.
      if (JSON.stringify(offer) !== JSON.stringify(this.#offer)) throw createError('CORRUPT', 'the drop changed');
      return;
    }
    this.#offer = offer;
    tuneGcForTransfer(offerSize(offer));
    this.#land = await landOffer(this.ctx, this.opts, offer, this.#drop);
    if (this.#lease !== undefined)
      await this.states.saveLease(this.#id, { lease: this.#lease, prologue: toHex(prologue) });
  }

  /** Data the part already holds (a fresh download after a lease ended) is checked by the reader and skipped. */
  async #onData(plaintext: Uint8Array): Promise<void> {
    const land = this.#land!;
    this.#position += plaintext.length;
    if (this.#position <= land.from) return;
    await land.sink!.write(plaintext);
    land.hash.update(plaintext);
    this.ctx.reporter.updateProgress(this.#position, offerSize(this.#offer!));
  }

  /**
   * Ends the download's lease now that everything landed checked. Not hearing back changes nothing here: the drop is
   * received, and the relay ends the lease an hour after its last request anyway.
   */
  async #confirm(): Promise<void> {
    if (this.#lease === undefined) return;
    await this.http.received(this.#id, this.#lease).catch((err: unknown) => {
      const why = err instanceof Error ? err.message : String(err);
      this.ctx.reporter.say(`The relay did not hear that the drop arrived (${why}); it ends the download in an hour.`);
    });
  }

  /** What failed, as the user should hear it; an interruption keeps the part and the lease for the next run. */
  async #failed(err: unknown): Promise<PortunusError> {
    const { reporter } = this.ctx;
    const error = this.ctx.signal.aborted
      ? createError('CANCELLED', 'cancelled on this side', { cause: err })
      : err instanceof PortunusError
        ? err
        : createError('INTERRUPTED', `the download was cut: ${err instanceof Error ? err.message : String(err)}`, {
            cause: err,
            hint: 'Run the same receive again: a file continues from its last complete MiB.',
          });
    reporter.stopProgress();
    if (error.code === 'INTERRUPTED' || error.code === 'RELAY_UNREACHABLE') {
      const kept = await this.#land?.resumable?.keep();
      if (kept !== undefined) {
        reporter.event({ event: 'kept', ...kept });
        reporter.say(
          `Kept the ${formatBytes(kept.bytes)} received so far: the same receive, run again, continues from there.`,
        );
      }
    } else if (error.code !== 'CANCELLED') {
      // A corrupt drop, a refusal here, a drop gone: nothing worth resuming.
      await this.states.removeLease(this.#id);
    }
    return error;
  }
}
