/**
 * Receiving a drop in the page, as `portunus receive D-…` does (cli/src/drop/drop-receive.ts): derive the drop's id
 * and key from its code (the relay sees the id only), download the stored bytes with fetch (one download slot; its
 * lease comes with the response), open them record by record with the protocol's sans-IO reader, show the offer
 * and let the person decide, then stream each authenticated chunk into the saver's sink. The sink keeps nothing
 * unless the last record opened: a flipped, missing or extra stored byte is CORRUPT and aborts it. A body cut by the
 * network continues on the download's lease with a Range request, as the CLI's does, taking no other download.
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
  storedOffsetOf,
} from '@portunus/protocol';
import { safeComponentName, type Sink } from '@portunus/client';
import type { PageEnv, ProgressView } from '../page-env.js';
import type { ReceiveSaver } from '../receive-flow.js';
import { DropApi, type DropDownload } from './drop-api.js';
import { retryCut, type Stall } from './retry-cut.js';

/** What the relay said of the drop with its download. */
export interface DropInfo {
  downloadsLeft?: number;
  /** Unix seconds. */
  expires?: number;
}

export interface DropReceiveView extends Omit<ProgressView, 'path'> {
  connecting(): void;
  /** Shows the offer; resolves with the person's answer (or rejects when `signal` aborts). */
  decide(offer: Offer, drop: DropInfo, signal: AbortSignal): Promise<boolean>;
}

export interface DropReceiveResult {
  offer: Offer;
  bytes: number;
  /** What the sink's commit said: the saved file's name, or an object URL (none for a message). */
  saved?: string;
  drop: DropInfo;
}

export async function receiveDropFlow(
  env: PageEnv,
  code: DropCode,
  saver: ReceiveSaver,
  view: DropReceiveView,
  signal: AbortSignal,
): Promise<DropReceiveResult> {
  view.connecting();
  const { id, key } = deriveDropKeys(code);
  // The data plane's AEAD: WebCrypto in a secure context (each push then a promise), else noble.
  let reader = new DropReader(env.dataAead(key));
  const api = new DropApi(env.origin, env.fetch, signal);
  let download = await api.download(id);
  const lease = download.lease;
  const stall: Stall = { since: env.now(), ms: env.settings.stallMs, now: env.now };
  const drop: DropInfo = {
    ...(download.downloadsLeft === undefined ? {} : { downloadsLeft: download.downloadsLeft }),
    ...(download.expires === undefined ? {} : { expires: download.expires }),
  };
  const got: { offer?: Offer; prologue?: Uint8Array; sink?: Sink; bytes: number } = { bytes: 0 };
  const onChunk = async (chunk: Uint8Array): Promise<void> => {
    for (const piece of await reader.push(chunk)) {
      if (piece.type === 'offer') {
        got.offer = piece.offer;
        got.prologue = piece.prologue;
        got.sink = await land(piece.offer, saver, view, drop, signal);
        continue;
      }
      await got.sink!.write(piece.plaintext);
      got.bytes += piece.plaintext.length;
      stall.since = env.now();
      view.progress(got.bytes, offerSize(got.offer!));
    }
  };
  let ok = false;
  try {
    for (;;) {
      try {
        await readAll(download, signal, onChunk);
        break;
      } catch (err) {
        if (!(err instanceof PortunusError) || err.code !== 'INTERRUPTED' || lease === undefined) throw err;
        // The same download continues on its lease (no other slot) from the first record not yet released: every
        // record before it was whole (1 MiB), so that is a record boundary (PROTOCOL.md §11.2 offsets).
        const from = got.prologue === undefined ? 0 : storedOffsetOf(got.prologue.length, got.bytes);
        if (got.prologue === undefined) reader = new DropReader(env.dataAead(key));
        else reader.resumeAt(got.bytes / DROP_CHUNK_BYTES);
        env.debug(`drop download cut; resuming at stored byte ${from}`);
        download = await retryCut(() => api.download(id, { token: lease, from }), err, stall, signal);
      }
    }
    reader.end();
    const saved = await got.sink?.commit();
    // Every byte checked and saved: the lease ends now (unheard, the relay ends it an hour later anyway).
    if (lease !== undefined)
      await api.received(id, lease).catch((err: unknown) => env.debug(`received: ${String(err)}`));
    ok = true;
    return { offer: got.offer!, bytes: got.bytes, ...(saved === undefined ? {} : { saved }), drop };
  } finally {
    if (!ok) await got.sink?.abort();
  }
}

/** Checks the offer as a live receive does, asks, and opens the sink right after Accept (a save dialog needs that). */
async function land(
  offer: Offer,
  saver: ReceiveSaver,
  view: DropReceiveView,
  drop: DropInfo,
  signal: AbortSignal,
): Promise<Sink | undefined> {
  const names = offer.kind === 'text' ? [] : offer.kind === 'bundle' ? offer.entries : [offer];
  for (const { name } of names) {
    const checked = safeComponentName(name);
    if (checked instanceof PortunusError) throw checked;
  }
  if (offer.kind === 'text') return undefined;
  const refusal = saver.refuse(offer);
  if (refusal !== undefined) throw refusal;
  if (!(await view.decide(offer, drop, signal))) {
    throw createError('REJECTED', 'declined here', {
      hint: 'Nothing was kept; the drop stays on the relay if it has downloads left.',
    });
  }
  return saver.open(offer);
}

/** Reads the body to its end; a body cut short (the connection, not the relay's refusal) is INTERRUPTED. */
async function readAll(
  download: DropDownload,
  signal: AbortSignal,
  onChunk: (chunk: Uint8Array) => Promise<void>,
): Promise<void> {
  const body = download.body.getReader();
  let received = 0;
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await body.read();
      } catch (err) {
        if (signal.aborted) throw createError('CANCELLED', 'cancelled on this side', { cause: err });
        throw createError('INTERRUPTED', `the download was cut after ${received} of ${download.length} bytes`, {
          cause: err,
        });
      }
      if (next.done) break;
      received += next.value.length;
      await onChunk(next.value);
    }
  } finally {
    await body.cancel().catch(() => {});
  }
}
