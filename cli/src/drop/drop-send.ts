/**
 * `portunus send --drop`: seal the offer and the data with a fresh drop code's key, upload the stored bytes to the
 * relay with tus (PROTOCOL.md §11.2, §11.3), and show the code once the relay holds every byte. An interrupted upload
 * continues when the same command runs again: its state (drop-state.ts) names the code and the upload, the relay's
 * HEAD says how much it holds, and the stream is regenerated from there (drop-stream.ts).
 */
import {
  createError,
  deriveDropKeys,
  dropPrologue,
  formatDropCode,
  generateDropCode,
  offerHasData,
  offerSize,
  parseDropCode,
  PortunusError,
  type Aead,
  type DropCode,
  type Offer,
} from '@portunus/protocol';
import { nodeAead, nodeSha256 } from '@portunus/protocol/node';
import type { FileDigest } from '../files/manifest.js';
import { openSource, type Source, type SourceSpec } from '../files/source.js';
import type { TransferContext } from '../transfer/context.js';
import { describeOffer } from '../ui/describe.js';
import { finishProgress, sayResumed } from '../ui/data-events.js';
import { formatBytes } from '../ui/format.js';
import { pageOrigin } from '../ui/page-link.js';
import { DropHttp } from './drop-http.js';
import { DropStates, stampSources, uploadKey, type UploadState } from './drop-state.js';
import { storedLength, storedStream } from './drop-stream.js';
import { showDropCode } from './show-drop.js';
import { tuneGcForTransfer } from '../gc-flags.js';

export interface DropSendOptions {
  source: SourceSpec;
  /** Seconds the relay keeps the drop. */
  expires: number;
  /** Downloads the relay serves. */
  downloads: number;
  qr: boolean;
  /** Where upload states live (drop-state.ts); undefined: none can be kept. */
  stateDir: string | undefined;
}

export interface DropSendResult {
  offer: Offer;
  bytes: number;
  reused: number;
  sha256: string;
  seconds: number;
  /** Folders and bundles: each file's SHA-256, as read. */
  files?: readonly FileDigest[];
  /** `url`: the link to the relay's page with the code, when the relay serves the page. */
  drop: { code: string; expires: number; downloads: number; url?: string };
}

/** An upload the relay knows: where, its token, its code and how much it holds. */
interface Upload {
  code: DropCode;
  state: UploadState;
  offset: number;
}

export async function sendDrop(ctx: TransferContext, opts: DropSendOptions): Promise<DropSendResult> {
  const relayUrl = ctx.relayUrl;
  if (relayUrl === undefined) {
    throw createError('NO_RELAY', 'a drop is stored on a relay, and none is configured', {
      hint: 'Pass --relay ws://host:port (a relay started with --storage), or set PORTUNUS_RELAY.',
    });
  }
  const { reporter } = ctx;
  const started = ctx.now();
  const source = await openSource(opts.source, { onWarning: (m) => reporter.warn(m) });
  const http = new DropHttp(relayUrl, ctx.relayCa, ctx.signal, ctx.stallMs);
  try {
    if (source.offer.kind === 'stream') {
      throw createError('USAGE', 'a drop needs its size in advance, and standard input has none', {
        hint: 'Save it to a file first and send that with --drop, or send it live (without --drop).',
      });
    }
    const states = new DropStates(opts.stateDir);
    const paths = 'path' in opts.source ? [opts.source.path] : 'paths' in opts.source ? opts.source.paths : undefined;
    const text = 'text' in opts.source ? opts.source.text : undefined;
    const key = uploadKey({ origin: http.origin, paths, text, expires: opts.expires, downloads: opts.downloads });
    const stamps = paths === undefined ? [] : await stampSources(paths);
    reporter.say(`Dropping ${describeOffer(source.offer)} on the relay.`);
    tuneGcForTransfer(offerSize(source.offer));
    const upload =
      (await resumeUpload(ctx, http, states, key, source, stamps)) ??
      (await createUpload(ctx, http, states, key, source, stamps, opts));
    const aead = nodeAead(deriveDropKeys(upload.code).key);
    const sent = await pump(ctx, http, aead, source, upload);
    await states.removeUpload(key);
    const url = (await http.servesPage()) ? `${pageOrigin(relayUrl)}#${formatDropCode(upload.code)}` : undefined;
    const drop = {
      code: formatDropCode(upload.code),
      expires: upload.state.expires,
      downloads: opts.downloads,
      ...(url === undefined ? {} : { url }),
    };
    showDropCode(reporter, {
      code: upload.code,
      relayUrl,
      qr: opts.qr,
      expires: opts.expires,
      downloads: opts.downloads,
      ...(url === undefined ? {} : { link: url }),
    });
    return {
      offer: source.offer,
      bytes: offerSize(source.offer) ?? 0,
      reused: sent.reused,
      sha256: sent.sha256,
      seconds: (ctx.now() - started) / 1000,
      ...(source.files === undefined ? {} : { files: source.files() }),
      drop,
    };
  } finally {
    reporter.stopProgress();
    await http.close();
    await source.close();
  }
}

/** The interrupted upload of this same command, if its sources are unchanged and the relay still has it. */
async function resumeUpload(
  ctx: TransferContext,
  http: DropHttp,
  states: DropStates,
  key: string,
  source: Source,
  stamps: unknown[],
): Promise<Upload | undefined> {
  const state = await states.loadUpload(key);
  if (state === undefined) return undefined;
  const code = parseDropCode(state.code);
  const stale = (why: string): undefined => {
    ctx.reporter.say(`An interrupted upload of the same command was found, but ${why}: starting a new drop.`);
    void states.removeUpload(key);
    return undefined;
  };
  if (code instanceof PortunusError) return stale('its state is damaged');
  if (JSON.stringify(stamps) !== JSON.stringify(state.sources)) return stale('what it sends has changed since');
  const prologue = dropPrologue(nodeAead(deriveDropKeys(code).key), source.offer);
  if (storedLength(prologue, source) !== state.length) return stale('its size differs');
  try {
    const { offset, length } = await http.offset(state.path, state.token);
    if (length !== state.length) return stale('the relay holds another size');
    return { code, state, offset };
  } catch (err) {
    if (err instanceof PortunusError && /^DROP_(NOT_FOUND|GONE)$/.test(err.code)) {
      return stale('the relay no longer has it');
    }
    throw err;
  }
}

/** A new drop: checks the relay's limits, draws the code, creates the upload and records it before any byte. */
async function createUpload(
  ctx: TransferContext,
  http: DropHttp,
  states: DropStates,
  key: string,
  source: Source,
  stamps: UploadState['sources'],
  opts: DropSendOptions,
): Promise<Upload> {
  const limits = await http.limits();
  if (opts.expires > limits.maxExpirySeconds) {
    throw createError('USAGE', `this relay keeps drops for at most ${limits.maxExpirySeconds} s`, {
      hint: 'Pass a shorter --expire.',
    });
  }
  if (opts.downloads > limits.maxDownloads) {
    throw createError('USAGE', `this relay serves a drop at most ${limits.maxDownloads} times`, {
      hint: 'Pass a smaller --downloads.',
    });
  }
  const code = generateDropCode(ctx.random);
  const { id, key: dropKey } = deriveDropKeys(code);
  const length = storedLength(dropPrologue(nodeAead(dropKey), source.offer), source);
  if (length > limits.maxBytes) {
    throw createError(
      'DROP_TOO_LARGE',
      `${formatBytes(length)} stored; this relay takes drops of at most ${formatBytes(limits.maxBytes)}`,
    );
  }
  const created = await http.create({ id, length, expires: opts.expires, downloads: opts.downloads });
  const expires = Math.floor(Date.now() / 1000) + opts.expires;
  const state: UploadState = {
    code: formatDropCode(code),
    ...created,
    length,
    expires,
    downloads: opts.downloads,
    sources: stamps,
  };
  await states.saveUpload(key, state);
  return { code, state, offset: 0 };
}

/** Failures after which the upload is tried again from the relay's offset: the connection, not a refusal. */
const RETRIED = new Set(['RELAY_UNREACHABLE', 'RELAY_PROTOCOL', 'RELAY_SHUTDOWN', 'INTERNAL']);

/** PATCHes until the relay holds every byte; a cut PATCH is followed by a HEAD and the rest, within --stall-timeout. */
async function pump(
  ctx: TransferContext,
  http: DropHttp,
  aead: Aead,
  source: Source,
  upload: Upload,
): Promise<{ reused: number; sha256: string }> {
  const { reporter } = ctx;
  const { path, token, length } = upload.state;
  const size = offerHasData(source.offer) ? offerSize(source.offer) : undefined;
  const prologue = dropPrologue(aead, source.offer);
  let offset = upload.offset;
  let reused: number | undefined;
  let sha256 = '';
  let lastMove = ctx.now();
  reporter.startProgress(size, 'Uploading');
  while (offset < length) {
    const stream = await storedStream(aead, prologue, source, offset, (p) => reporter.updateProgress(p, size));
    if (reused === undefined) {
      reused = stream.skipped;
      if (reused > 0) sayResumed(reporter, reused, size);
    }
    try {
      offset = await http.patch(path, token, offset, length - offset, stream.bytes);
      sha256 = stream.sha256();
    } catch (err) {
      const failure = stream.failure() ?? err;
      if (!(failure instanceof PortunusError) || !RETRIED.has(failure.code) || stream.failure() !== undefined) {
        throw failure;
      }
      reporter.debug(`upload cut at some point after ${offset}: ${failure.message}`);
      const before = offset;
      offset = await headAfterCut(ctx, http, path, token, failure, lastMove);
      if (offset > before) lastMove = ctx.now();
    }
  }
  if (sha256 === '') sha256 = await wholeHash(source, size);
  finishProgress(reporter, size ?? 0, size);
  return { reused: reused ?? 0, sha256 };
}

/** The relay's offset after a cut PATCH, waiting a little between tries; gives up after --stall-timeout. */
async function headAfterCut(
  ctx: TransferContext,
  http: DropHttp,
  path: string,
  token: string,
  cause: PortunusError,
  lastMove: number,
): Promise<number> {
  for (let delay = 250; ; delay = Math.min(delay * 2, 4000)) {
    if (ctx.now() - lastMove > ctx.stallMs) {
      throw createError('INTERRUPTED', `the upload made no progress for ${ctx.stallMs / 1000} s: ${cause.message}`, {
        hint: 'Run the same command again: the upload continues where the relay stopped.',
      });
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      return (await http.offset(path, token)).offset;
    } catch (err) {
      if (!(err instanceof PortunusError) || !RETRIED.has(err.code)) throw err;
    }
  }
}

/** The data's SHA-256 when the relay held all of it already (nothing streamed in this run). */
async function wholeHash(source: Source, size: number | undefined): Promise<string> {
  if (size === undefined || source.hashPrefix === undefined) return '';
  return (await source.hashPrefix(size, nodeSha256)).digestHex();
}
