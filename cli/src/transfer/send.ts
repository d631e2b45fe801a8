/**
 * `portunus send`: open the source (failing before any network traffic if it is unreadable), get a nameplate,
 * show the code, wait for the receiver, then run the session and stream the data.
 */
import {
  type Code,
  codeUri,
  type Digest,
  formatCode,
  generateSecret,
  type Offer,
  offerSize,
  type PathKind,
  type ResumeClaim,
  type Sha256,
} from '@portunus/protocol';
import type { FileDigest } from '../files/manifest.js';
import { nodeAead, nodeSha256 } from '@portunus/protocol/node';
import { openSource, type Source, type SourceSpec } from '../files/source.js';
import { openRendezvous, type Rendezvous } from '../lan/rendezvous.js';
import { DIRECT_CHUNK_BYTES } from '../transport/webrtc.js';
import { abilitiesFor, ControlMux, driveSession, type Paired, scopedSignal, sendData } from '@portunus/client';
import { describeOffer } from '../ui/describe.js';
import { pageLink } from '../ui/page-link.js';
import { showCode } from '../ui/show-code.js';
import { verifyWithUser } from '../ui/verify.js';
import type { TransferContext } from './context.js';
import { dataPlaneOptions } from './data-plane-options.js';
import { relayLine } from './relay-line.js';
import { finishProgress, sayResumed } from '../ui/data-events.js';

export interface SendOptions {
  source: SourceSpec;
  /** A pre-agreed code (CI); otherwise the relay allocates a nameplate and we draw the secret. */
  code?: Code;
  secretLength: number;
  qr: boolean;
  /** The relay to name in the receive command shown to the user (from --relay, PORTUNUS_RELAY or the config file). */
  relayArg?: string;
}

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

export async function send(ctx: TransferContext, opts: SendOptions): Promise<SendResult> {
  const { reporter } = ctx;
  const source = await openSource(opts.source, { onWarning: (m) => reporter.warn(m) });
  try {
    const connecting = scopedSignal(ctx.signal);
    const rendezvous = await openRendezvous(
      { ...ctx, signal: connecting.signal },
      { role: 'send', nameplate: opts.code?.nameplate },
    );
    // From here on cancelling is the session's job: it tells the peer before the connection closes.
    connecting.release();
    const relay = relayLine(ctx, rendezvous);
    let ok = false;
    let used: PathKind | undefined;
    let paired: Paired | undefined;
    let started = ctx.now();
    let verified = '';
    /** The hash after the prefix the receiver holds, once its claim checked out. */
    let prefix: Sha256 | undefined;
    let reused = 0;
    try {
      const code = obtainCode(rendezvous, opts, ctx);
      reporter.say(`Sending ${describeOffer(source.offer)}.`);
      const link = rendezvous.pageUrl === undefined ? undefined : pageLink(rendezvous.pageUrl, code);
      showCode(reporter, { code, qr: opts.qr, relayUrl: opts.relayArg, link });
      reporter.event({
        event: 'code',
        code: formatCode(code),
        nameplate: code.nameplate,
        uri: codeUri(code),
        ...(link === undefined ? {} : { url: link }),
        ...(rendezvous.mode === 'lan' ? { mode: 'lan' as const } : {}),
      });
      const control = new ControlMux(relay, (m) => reporter.debug(m));
      const digest = await driveSession(control, {
        relayName: relay.client.relayName,
        config: {
          role: 'send',
          code,
          abilities: abilitiesFor(ctx.paths),
          offer: source.offer,
          aead: nodeAead,
          random: ctx.random,
        },
        signal: ctx.signal,
        waitMs: ctx.timeoutMs,
        stallMs: ctx.stallMs,
        hooks: {
          onPaired: (p) => {
            paired = p;
            started = ctx.now();
          },
          onUnpaired: () => {
            reporter.event({ event: 'unpaired' });
            reporter.say(
              'The receiver left before the key exchange completed; waiting for it to come back… (the code still works)',
            );
          },
          onConfirmed: ({ verifier }) => {
            verified = verifier;
            reporter.event({ event: 'confirmed', verifier });
            reporter.debug(`key confirmed; verifier ${verifier}`);
          },
          checkResume: async (claim) => {
            prefix = await checkClaim(source, claim);
            if (prefix === undefined) {
              reporter.say("The receiver's partial copy does not match what is sent here: sending all of it.");
            }
            return prefix !== undefined;
          },
          sendData: async (data, from) => {
            // The receiver has accepted; nothing has been sent yet (its wait for data is bounded by --stall-timeout).
            if (ctx.verify === true) await verifyWithUser(ctx.prompt, verified, data.signal);
            const total = offerSize(source.offer);
            reused = from;
            if (from > 0) sayResumed(reporter, from, total);
            const plane = dataPlaneOptions(ctx, { data, relay, control, paired: paired!, verb: 'Sending', total });
            const sent = await sendData(
              from > 0 && prefix !== undefined ? { ...plane, prefix: { bytes: from, hash: prefix } } : plane,
              source.chunks(chunkSize(ctx), from),
            );
            finishProgress(reporter, sent.bytes, total);
            used = sent.transport;
            reporter.say('Waiting for the receiver to confirm…');
            return { bytes: sent.bytes, sha256: sent.sha256 };
          },
        },
      });
      ok = true;
      return {
        ...digest,
        offer: source.offer,
        reused,
        seconds: (ctx.now() - started) / 1000,
        ...(used === undefined ? {} : { transport: used }),
        ...(source.files === undefined ? {} : { files: source.files() }),
      };
    } finally {
      reporter.stopProgress();
      relay.reportDone(ok);
      await relay.close();
      await rendezvous.close();
    }
  } finally {
    await source.close();
  }
}

/** The hash after the file's first `claim.bytes` if their SHA-256 is the claim's; else undefined. */
async function checkClaim(source: Source, claim: ResumeClaim): Promise<Sha256 | undefined> {
  if (source.hashPrefix === undefined) return undefined;
  const hash = await source.hashPrefix(claim.bytes, nodeSha256);
  return hash.copy().digestHex() === claim.sha256 ? hash : undefined;
}

/**
 * Plaintext bytes per frame: the requested size, but smaller frames when WebRTC is the only path (werift moved 256
 * KiB frames faster than 1 MiB ones); a transfer that may switch paths keeps one size for all of them.
 */
function chunkSize(ctx: TransferContext): number {
  return ctx.paths.length === 1 && ctx.paths[0] === 'webrtc'
    ? Math.min(ctx.chunkSize, DIRECT_CHUNK_BYTES)
    : ctx.chunkSize;
}

/** The rendezvous already holds the nameplate (claimed when pre-agreed, else allocated); we draw the secret. */
function obtainCode(rendezvous: Rendezvous, opts: SendOptions, ctx: TransferContext): Code {
  return opts.code ?? { nameplate: rendezvous.nameplate, secret: generateSecret(ctx.random, opts.secretLength) };
}
