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
import { connectRelay, type RelayClient } from '../relay/client.js';
import { RelayTransport } from '../transport/relay.js';
import { withTimeout } from '../util/async-queue.js';
import { describeOffer } from '../ui/describe.js';
import { showCode } from '../ui/show-code.js';
import { ABILITIES, type TransferContext } from './context.js';
import { DATA_STREAM, sendStream } from './data-stream.js';
import { driveSession, type Digest } from './session-driver.js';

export interface SendOptions {
  source: SourceSpec;
  /** A pre-agreed code (CI); otherwise the relay allocates a nameplate and we draw the secret. */
  code?: Code;
  secretLength: number;
  qr: boolean;
  /** Shown in the receive command when the relay came from --relay. */
  relayArg?: string;
}

export interface SendResult extends Digest {
  offer: Offer;
  seconds: number;
}

export async function send(ctx: TransferContext, opts: SendOptions): Promise<SendResult> {
  const { reporter } = ctx;
  const source = await openSource(opts.source, { onWarning: (m) => reporter.warn(m) });
  try {
    const relay = await connectRelay({ url: ctx.relayUrl, agent: ctx.agent, signal: ctx.signal });
    let ok = false;
    try {
      const code = await obtainCode(relay, opts, ctx);
      reporter.say(`Sending ${describeOffer(source.offer)}.`);
      showCode(reporter, code, opts.qr, opts.relayArg);
      reporter.event({ event: 'code', code: formatCode(code), nameplate: code.nameplate, uri: codeUri(code) });
      const paired = await withTimeout(relay.paired(), ctx.timeoutMs, () =>
        createError('TIMEOUT', `no receiver came within ${Math.round(ctx.timeoutMs / 1000)} s`),
      );
      const started = ctx.now();
      const digest = await driveSession(relay, {
        paired: { ...paired, relayName: relay.relayName },
        config: { role: 'send', code, abilities: [...ABILITIES], offer: source.offer, aead: nodeAead, random: ctx.random },
        signal: ctx.signal,
        hooks: {
          onConfirmed: ({ verifier }) => {
            reporter.event({ event: 'confirmed', verifier });
            reporter.debug(`key confirmed; verifier ${verifier}`);
          },
          sendData: async (data) => {
            const transport = await RelayTransport.open(relay);
            reporter.event({ event: 'connected', transport: transport.kind });
            reporter.say(`Connected (${transport.kind}). Sending…`);
            const total = source.offer.kind === 'file' || source.offer.kind === 'folder' ? source.offer.size : undefined;
            reporter.startProgress(total, 'Sending');
            const sealer = new FrameSealer(nodeAead(data.keys.data[data.side]), DATA_STREAM);
            const sent = await sendStream(source.chunks(ctx.chunkSize), transport, sealer, (b) => reporter.updateProgress(b, total), data.signal);
            reporter.updateProgress(sent.bytes, total, true);
            reporter.stopProgress();
            reporter.say('Waiting for the receiver to confirm…');
            return sent;
          },
        },
      });
      ok = true;
      return { ...digest, offer: source.offer, seconds: (ctx.now() - started) / 1000 };
    } finally {
      reporter.stopProgress();
      relay.reportDone(ok);
      await relay.close();
    }
  } finally {
    await source.close();
  }
}

async function obtainCode(relay: RelayClient, opts: SendOptions, ctx: TransferContext): Promise<Code> {
  if (opts.code !== undefined) {
    await relay.claim(opts.code.nameplate);
    return opts.code;
  }
  const nameplate = await relay.allocate();
  return { nameplate, secret: generateSecret(ctx.random, opts.secretLength) };
}
