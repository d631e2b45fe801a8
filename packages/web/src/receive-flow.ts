/**
 * Receiving in the page, as `portunus receive` does (cli/src/transfer/receive.ts): claim the code's nameplate, run
 * the session, show the offer and let the person decide, then stream the verified data into a sink that keeps it
 * only once the final frame and the SHA-256 check passed.
 */
import {
  type Code,
  createError,
  type Decision,
  type Digest,
  type Offer,
  offerSize,
  type PathKind,
  PortunusError,
} from '@portunus/protocol';
import {
  abilitiesFor,
  ControlMux,
  driveSession,
  noCommonPath,
  type Paired,
  receiveData,
  type ReceivingStream,
  safeComponentName,
  type Sink,
} from '@portunus/client';
import { pageDataPlane } from './page-data-plane.js';
import type { PageEnv, ProgressView } from './page-env.js';
import { openRelaySession } from './relay-session.js';

export interface ReceiveView extends ProgressView {
  connecting(): void;
  /** Connected; waiting for the sender (or for the key exchange, when the sender was there first). */
  waiting(): void;
  /** Shows the offer; resolves with the person's answer (or rejects when `signal` aborts). */
  decide(offer: Offer, signal: AbortSignal): Promise<boolean>;
}

/**
 * Where accepted data goes (offer-saver.ts): `refuse` says before anyone is asked that an offer cannot be kept
 * here; `open` runs right after Accept (still within the click, as a save dialog requires).
 */
export interface ReceiveSaver {
  readonly kind: string;
  refuse(offer: Offer): PortunusError | undefined;
  open(offer: Offer): Promise<Sink>;
}

export interface ReceiveResult extends Digest {
  offer: Offer;
  /** What the sink's commit said: the saved file's name, or an object URL to download (none for a message). */
  saved?: string;
  transport?: PathKind;
}

export async function receiveFlow(
  env: PageEnv,
  code: Code,
  saver: ReceiveSaver,
  view: ReceiveView,
  signal: AbortSignal,
): Promise<ReceiveResult> {
  view.connecting();
  const { relay } = await openRelaySession(env, code.nameplate, signal);
  const got: { offer?: Offer; sink?: Sink; stream?: ReceivingStream; paired?: Paired; used?: PathKind } = {};
  let saved: string | undefined;
  let peerAbilities: string[] = [];
  let refusal: PortunusError | undefined;
  let ok = false;
  try {
    if (signal.aborted) throw createError('CANCELLED', 'cancelled on this side');
    view.waiting();
    const abilities = abilitiesFor(env.settings.paths);
    const control = new ControlMux(relay, env.debug);
    const digest = await driveSession(control, {
      relayName: relay.relayName,
      config: { role: 'receive', code, abilities, aead: env.aead, random: env.random },
      signal,
      waitMs: env.settings.waitMs,
      stallMs: env.settings.stallMs,
      hooks: {
        onPaired: (p) => void (got.paired = p),
        onConfirmed: ({ peerAbilities: theirs }) => void (peerAbilities = theirs),
        onOffer: async (offer, decided): Promise<Decision> => {
          const names = offer.kind === 'text' ? [] : offer.kind === 'bundle' ? offer.entries : [offer];
          for (const { name } of names) {
            const checked = safeComponentName(name);
            if (checked instanceof PortunusError) throw checked;
          }
          const noPath = offer.kind === 'text' ? undefined : noCommonPath(abilities, peerAbilities);
          if (noPath !== undefined) throw noPath;
          got.offer = offer;
          if (offer.kind === 'text') return { accept: true };
          refusal = saver.refuse(offer);
          if (refusal !== undefined) return { accept: false, reason: 'DISK_FULL' };
          if (!(await view.decide(offer, decided))) return { accept: false, reason: 'REJECTED' };
          got.sink = await saver.open(offer);
          return { accept: true };
        },
        receiveData: async (data) => {
          const total = offerSize(got.offer!);
          const plane = pageDataPlane(env, { data, relay, control, paired: got.paired!, total, view });
          got.stream = receiveData(plane, got.sink!);
          const done = await got.stream.done;
          got.used = done.transport;
          return { bytes: done.bytes, sha256: done.sha256 };
        },
        onPeerSent: () => got.stream?.peerSent(),
        commit: async () => void (saved = await got.sink!.commit()),
      },
    });
    ok = true;
    return {
      ...digest,
      offer: got.offer!,
      ...(saved === undefined ? {} : { saved }),
      ...(got.used === undefined ? {} : { transport: got.used }),
    };
  } catch (err) {
    // A local refusal (too big to keep here) is reported as itself, not as the generic "declined".
    throw refusal ?? err;
  } finally {
    if (!ok) await got.sink?.abort();
    relay.reportDone(ok);
    await relay.close();
  }
}
