/**
 * `portunus send`: open the source (failing before any network traffic if it is unreadable), get a nameplate,
 * show the code, wait for the receiver, then run the session and stream the data.
 */
import {
  codeUri,
  createError,
  formatCode,
  FrameSealer,
  generateSecret,
  type Code,
  type Offer,
} from '../protocol.js';
import { nodeAead } from '../../../packages/protocol/src/aead.node.js';
import { openSource, type SourceSpec } from '../files/source.js';
import { openRendezvous, type Rendezvous } from '../lan/rendezvous.js';
import { chunkSizeFor, openTransport } from '../transport/select.js';
import type { TransportKind } from '../transport/transport.js';
import { advertisedIce } from '../transport/webrtc-ice.js';
import { withTimeout } from '../util/async-queue.js';
import { scopedSignal } from '../util/scoped-signal.js';
import { describeOffer } from '../ui/describe.js';
import { showCode } from '../ui/show-code.js';
import { abilitiesFor, type TransferContext } from './context.js';
import { DATA_STREAM, sendStream } from './data-stream.js';
import { ControlMux } from './control-mux.js';
import { driveSession, type Digest } from './session-driver.js';
import { sendSwitching, switches } from './switching.js';

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
  seconds: number;
  /** The path that carried the data (none for a text message). */
  transport?: TransportKind;
}

export async function send(ctx: TransferContext, opts: SendOptions): Promise<SendResult> {
  const { reporter } = ctx;
  const source = await openSource(opts.source, { onWarning: (m) => reporter.warn(m) });
  try {
    const connecting = scopedSignal(ctx.signal);
    const rendezvous = await openRendezvous({ ...ctx, signal: connecting.signal }, { role: 'send', nameplate: opts.code?.nameplate });
    const relay = rendezvous.client;
    let ok = false;
    let used: TransportKind | undefined;
    try {
      const code = obtainCode(rendezvous, opts, ctx);
      reporter.say(`Sending ${describeOffer(source.offer)}.`);
      showCode(reporter, code, opts.qr, opts.relayArg);
      reporter.event({ event: 'code', code: formatCode(code), nameplate: code.nameplate, uri: codeUri(code), ...(rendezvous.mode === 'lan' ? { mode: 'lan' as const } : {}) });
      const paired = await withTimeout(relay.paired(), ctx.timeoutMs, () =>
        createError('TIMEOUT', `no receiver came within ${Math.round(ctx.timeoutMs / 1000)} s`),
      );
      const started = ctx.now();
      connecting.release();
      const control = new ControlMux(relay, (m) => reporter.debug(m));
      const digest = await driveSession(control, {
        paired: { ...paired, relayName: relay.relayName },
        config: { role: 'send', code, abilities: abilitiesFor(ctx.transport, ctx.switchTest), offer: source.offer, aead: nodeAead, random: ctx.random },
        signal: ctx.signal,
        hooks: {
          onConfirmed: ({ verifier }) => {
            reporter.event({ event: 'confirmed', verifier });
            reporter.debug(`key confirmed; verifier ${verifier}`);
          },
          sendData: async (data) => {
            const { transport: mode, directTimeoutMs, iceServers } = ctx;
            const relayIce = advertisedIce(paired);
            const pathOptions = { mode, directTimeoutMs, iceServers, relayIce, data, relay, reporter, tcpListenHost: ctx.lan?.bind };
            const total = source.offer.kind === 'file' || source.offer.kind === 'folder' ? source.offer.size : undefined;
            if (switches(mode, data)) {
              const sent = await sendSwitching({ paths: pathOptions, reporter, control, now: ctx.now, total, test: ctx.switchTest }, source.chunks(ctx.chunkSize));
              used = sent.transport;
              reporter.say('Waiting for the receiver to confirm…');
              return { bytes: sent.bytes, sha256: sent.sha256 };
            }
            const transport = await openTransport(pathOptions);
            used = transport.kind;
            reporter.event({ event: 'connected', transport: transport.kind });
            reporter.say(`Connected (${transport.kind}). Sending…`);
            reporter.startProgress(total, 'Sending');
            const sealer = new FrameSealer(nodeAead(data.keys.data[data.side]), DATA_STREAM);
            const sent = await sendStream(source.chunks(chunkSizeFor(transport, ctx.chunkSize)), transport, sealer, (b) => reporter.updateProgress(b, total), data.signal);
            reporter.updateProgress(sent.bytes, total, true);
            reporter.stopProgress();
            reporter.say('Waiting for the receiver to confirm…');
            return sent;
          },
        },
      });
      ok = true;
      return { ...digest, offer: source.offer, seconds: (ctx.now() - started) / 1000, ...(used === undefined ? {} : { transport: used }) };
    } finally {
      reporter.stopProgress();
      relay.reportDone(ok);
      await rendezvous.close();
    }
  } finally {
    await source.close();
  }
}

/** The rendezvous already holds the nameplate (claimed when pre-agreed, else allocated); we draw the secret. */
function obtainCode(rendezvous: Rendezvous, opts: SendOptions, ctx: TransferContext): Code {
  return opts.code ?? { nameplate: rendezvous.nameplate, secret: generateSecret(ctx.random, opts.secretLength) };
}
