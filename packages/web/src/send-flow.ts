/**
 * Sending from the page, as `portunus send` does (cli/src/transfer/send.ts): get a nameplate from the relay, draw
 * the secret here (it never leaves the page but in the link's fragment), show the code, wait for the receiver, run
 * the session and stream the data over the paths both sides allow.
 */
import {
  type Code,
  createError,
  type Digest,
  generateSecret,
  type Offer,
  offerSize,
  type PathKind,
} from '@portunus/protocol';
import { abilitiesFor, ControlMux, driveSession, type Paired, sendData } from '@portunus/client';
import { pageDataPlane } from './page-data-plane.js';
import type { PageEnv, ProgressView } from './page-env.js';
import { openRelaySession } from './relay-session.js';

/** What is sent: the offer, and the data stream (none for a text message). */
export interface SendSource {
  offer: Offer;
  chunks(chunkBytes: number): AsyncIterable<Uint8Array>;
}

export interface SendView extends ProgressView {
  connecting(): void;
  /** The code to pass on; the session waits for the receiver from here. */
  code(code: Code): void;
  /** The receiver is here; the key exchange and the offer follow. */
  paired(): void;
  /** Everything sent; waiting for the receiver's confirmation. */
  confirming(): void;
}

export interface SendResult extends Digest {
  transport?: PathKind;
}

export async function sendFlow(
  env: PageEnv,
  source: SendSource,
  view: SendView,
  signal: AbortSignal,
): Promise<SendResult> {
  view.connecting();
  const { relay, nameplate } = await openRelaySession(env, undefined, signal);
  let ok = false;
  let paired: Paired | undefined;
  let used: PathKind | undefined;
  try {
    if (signal.aborted) throw createError('CANCELLED', 'cancelled on this side');
    const code: Code = { nameplate, secret: generateSecret(env.random) };
    view.code(code);
    const control = new ControlMux(relay, env.debug);
    const digest = await driveSession(control, {
      relayName: relay.relayName,
      config: {
        role: 'send',
        code,
        abilities: abilitiesFor(env.settings.paths),
        offer: source.offer,
        aead: env.aead,
        random: env.random,
      },
      signal,
      waitMs: env.settings.waitMs,
      stallMs: env.settings.stallMs,
      hooks: {
        onPaired: (p) => {
          paired = p;
          view.paired();
        },
        onUnpaired: () => view.code(code),
        sendData: async (data) => {
          const total = offerSize(source.offer);
          const plane = pageDataPlane(env, { data, relay, control, paired: paired!, total, view });
          const sent = await sendData(plane, source.chunks(env.settings.chunkBytes));
          used = sent.transport;
          view.confirming();
          return { bytes: sent.bytes, sha256: sent.sha256 };
        },
      },
    });
    ok = true;
    return { ...digest, ...(used === undefined ? {} : { transport: used }) };
  } finally {
    relay.reportDone(ok);
    await relay.close();
  }
}
