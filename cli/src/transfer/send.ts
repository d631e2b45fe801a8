/**
 * `portunus send`: open the source (failing before any network traffic if it is unreadable), get a nameplate,
 * show the code, wait for the receiver, then run the session and stream the data (serve-receiver.ts).
 * `--count N` serves several receivers under one code: send-many.ts.
 */
import { type Code, codeUri, formatCode, generateSecret } from '@portunus/protocol';
import { scopedSignal } from '@portunus/client';
import { openSource, type SourceSpec } from '../files/source.js';
import { openRendezvous, type Rendezvous } from '../lan/rendezvous.js';
import { describeOffer } from '../ui/describe.js';
import { pageLink } from '../ui/page-link.js';
import { showCode } from '../ui/show-code.js';
import type { TransferContext } from './context.js';
import { relayLine } from './relay-line.js';
import type { SendResult } from './send-result.js';
import { serveReceiver } from './serve-receiver.js';

export type { SendResult } from './send-result.js';

export interface SendOptions {
  source: SourceSpec;
  /** A pre-agreed code (CI); otherwise the relay allocates a nameplate and we draw the secret. */
  code?: Code;
  secretLength: number;
  qr: boolean;
  /** The relay to name in the receive command shown to the user (from --relay, PORTUNUS_RELAY or the config file). */
  relayArg?: string;
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
    try {
      const code = opts.code ?? drawCode(rendezvous.nameplate, opts, ctx);
      reporter.say(`Sending ${describeOffer(source.offer)}.`);
      presentCode(ctx, rendezvous, code, opts);
      return await serveReceiver(ctx, source, relayLine(ctx, rendezvous), code);
    } finally {
      await rendezvous.close();
    }
  } finally {
    await source.close();
  }
}

/** The rendezvous holds the nameplate (allocated); we draw the secret. */
export function drawCode(nameplate: number, opts: SendOptions, ctx: TransferContext): Code {
  return { nameplate, secret: generateSecret(ctx.random, opts.secretLength) };
}

/** Shows the code (and the link to the relay's page, when it serves one) and reports it to scripts. */
export function presentCode(
  ctx: TransferContext,
  rendezvous: Rendezvous,
  code: Code,
  opts: SendOptions,
  count?: number,
): void {
  const { reporter } = ctx;
  const link = rendezvous.pageUrl === undefined ? undefined : pageLink(rendezvous.pageUrl, code);
  showCode(reporter, { code, qr: opts.qr, relayUrl: opts.relayArg, link, count });
  reporter.event({
    event: 'code',
    code: formatCode(code),
    nameplate: code.nameplate,
    uri: codeUri(code),
    ...(link === undefined ? {} : { url: link }),
    ...(rendezvous.mode === 'lan' ? { mode: 'lan' as const } : {}),
    ...(count === undefined ? {} : { count }),
  });
}
