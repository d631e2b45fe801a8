/**
 * One receiver served over one relay connection that holds the code's nameplate (or a seat of it, send --count):
 * the session (key exchange, offer, answer, receipt) and the data stream. The connection is closed at the end,
 * whatever happened; the caller owns the source and the rendezvous.
 */
import { type Code, type Digest, offerSize, type PathKind, type Sha256 } from '@portunus/protocol';
import { nodeAead } from '@portunus/protocol/node';
import { abilitiesFor, ControlMux, driveSession, type Paired, type RejoiningRelay, sendData } from '@portunus/client';
import type { Source } from '../files/source.js';
import { DIRECT_CHUNK_BYTES } from '../transport/webrtc.js';
import { finishProgress, sayResumed } from '../ui/data-events.js';
import { verifyWithUser } from '../ui/verify.js';
import type { TransferContext } from './context.js';
import { dataPlaneOptions } from './data-plane-options.js';
import { checkClaim, type SendResult } from './send-result.js';
import { tuneGcForTransfer } from '../gc-flags.js';

export async function serveReceiver(
  ctx: TransferContext,
  source: Source,
  relay: RejoiningRelay,
  code: Code,
): Promise<SendResult> {
  const { reporter } = ctx;
  let ok = false;
  let used: PathKind | undefined;
  let paired: Paired | undefined;
  let started = ctx.now();
  let verified = '';
  /** The hash after the prefix the receiver holds, once its claim checked out. */
  let prefix: Sha256 | undefined;
  let reused = 0;
  try {
    const control = new ControlMux(relay, (m) => reporter.debug(m));
    const digest: Digest = await driveSession(control, {
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
          tuneGcForTransfer(total);
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
  }
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
