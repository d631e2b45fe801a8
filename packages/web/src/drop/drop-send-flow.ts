/**
 * Dropping from the page, as `portunus send --drop` does (cli/src/drop/drop-send.ts): check the relay's limits, draw
 * a drop code here (140 bits; only its derived id reaches the relay), seal the offer and the data with the code's
 * key (PROTOCOL.md §11.2) and upload the stored bytes with tus (§11.3): one creation, then PATCHes of a few MiB each.
 * A PATCH cut by the network is followed by a HEAD and the rest of that part, for up to the stall timeout without
 * progress. The code is shown only once the relay holds every byte.
 */
import {
  createError,
  deriveDropKeys,
  dropPrologue,
  dropStoredLength,
  type DropCode,
  generateDropCode,
  offerHasData,
  offerSize,
  PortunusError,
} from '@portunus/protocol';
import type { PageEnv, ProgressView } from '../page-env.js';
import type { SendSource } from '../send-flow.js';
import { DropApi, type DropLimits } from './drop-api.js';
import { RETRIED, retryCut, type Stall } from './retry-cut.js';
import { storedParts, type StoredPart } from './stored-parts.js';

export interface DropChoice {
  /** Seconds the relay keeps the drop. */
  expires: number;
  /** Downloads the relay serves. */
  downloads: number;
}

export interface DroppedResult extends DropChoice {
  code: DropCode;
  /** When the relay deletes it at the latest, in Unix seconds (as this page's clock reckons). */
  expiresAt: number;
  bytes: number;
}

export async function sendDropFlow(
  env: PageEnv,
  source: SendSource,
  limits: DropLimits,
  choice: DropChoice,
  view: Omit<ProgressView, 'path'>,
  signal: AbortSignal,
): Promise<DroppedResult> {
  const { offer } = source;
  if (choice.expires > limits.maxExpirySeconds || choice.downloads > limits.maxDownloads) {
    throw createError('USAGE', 'this relay does not keep drops that long or serve them that often');
  }
  const code = generateDropCode(env.random);
  const { id, key } = deriveDropKeys(code);
  // The small offer record with the session's synchronous AEAD, the data with the data plane's (WebCrypto in a secure
  // context): every AES-GCM backend gives the same bytes, so the stored drop is what the CLI would store.
  const prologue = dropPrologue(env.aead(key), offer);
  const size = offerHasData(offer) ? offerSize(offer) : undefined;
  const length = dropStoredLength(prologue.length, size);
  if (length > limits.maxBytes) {
    throw createError('DROP_TOO_LARGE', `this relay takes drops of at most ${limits.maxBytes} bytes stored`);
  }
  const api = new DropApi(env.origin, env.fetch, signal);
  const upload = await api.create({ id, length, ...choice });
  const expiresAt = Math.floor(Date.now() / 1000) + choice.expires;
  const stall: Stall = { since: env.now(), ms: env.settings.stallMs, now: env.now };
  let offset = 0;
  view.progress(0, size);
  for await (const part of storedParts(env.dataAead(key), prologue, source)) {
    offset = await sendPart(api, upload, part, offset, stall, env, signal);
    view.progress(part.plaintextEnd, size);
  }
  if (offset !== length) {
    throw createError('RELAY_PROTOCOL', `the relay holds ${offset} bytes of the drop's ${length}`);
  }
  return { code, expiresAt, bytes: size ?? 0, ...choice };
}

/** PATCHes what the relay lacks of `part` (it holds `offset`); a cut PATCH is followed by a HEAD and the rest. */
async function sendPart(
  api: DropApi,
  upload: { path: string; token: string },
  part: StoredPart,
  held: number,
  stall: Stall,
  env: PageEnv,
  signal: AbortSignal,
): Promise<number> {
  let offset = held;
  const end = part.start + part.bytes.size;
  while (offset < end) {
    if (offset < part.start) throw createError('RELAY_PROTOCOL', 'the relay lost part of the upload');
    try {
      offset = await api.patch(upload.path, upload.token, offset, part.bytes.slice(offset - part.start));
      stall.since = env.now();
    } catch (err) {
      if (!(err instanceof PortunusError) || !RETRIED.has(err.code)) throw err;
      env.debug(`drop upload cut after ${offset}: ${err.message}`);
      const before = offset;
      offset = await retryCut(() => api.offset(upload.path, upload.token), err, stall, signal);
      if (offset > before) stall.since = env.now();
    }
  }
  return offset;
}
