/**
 * One direct-connection attempt, the same steps for both WebRTC engines: negotiate over the peer link, wait for the
 * channel to open, bind it to the session (PROTOCOL.md §6.4). Whichever way it ends, the attempt's own waits stop,
 * and what it opened is closed unless it is returned.
 */
import { createError, PortunusError, type IceServer, type Key, type Role } from '@portunus/protocol';
import type { Binding, ChannelTransport } from './channel-transport.js';
import type { SignalLink } from './path-signals.js';

/** The data channel's label: the answering side accepts no other channel. */
export const DATA_CHANNEL_LABEL = 'portunus';

/** What every direct attempt takes, whatever the WebRTC stack. */
export interface DirectOptions {
  role: Role;
  link: SignalLink;
  bindingKey: Key<'binding'>;
  iceServers: readonly IceServer[];
  /** Aborting gives up: everything opened is closed and the call rejects with the abort reason. */
  signal: AbortSignal;
  debug?: (message: string) => void;
}

/** What an engine brings to an attempt. */
export interface DirectEngine<T extends ChannelTransport> {
  /** Starts the offer/answer exchange: `channel` once the data channel exists, `failure` on a bad exchange. */
  negotiate(signal: AbortSignal): { channel: Promise<T>; failure: Promise<never> };
  /** Calls `fail` when the stack gives up (ICE or DTLS failed); returns the unsubscribe. */
  onFailure(fail: (error: PortunusError) => void): () => void;
  /** The certificates of this DTLS connection, as the binding MAC covers them. */
  fingerprints(): Pick<Binding, 'localFingerprint' | 'remoteFingerprint'>;
  /** Releases the peer connection when no transport took it over. */
  closePeer(): Promise<void>;
  /** The engine (and route, where known), for the debug line once bound. */
  describe(): string;
}

export async function runDirectAttempt<T extends ChannelTransport>(
  engine: DirectEngine<T>,
  opts: DirectOptions,
): Promise<T> {
  // Stops the signal pump and every wait below once this attempt is over, whichever way it ended.
  const attempt = new AbortController();
  const signal = AbortSignal.any([opts.signal, attempt.signal]);
  let transport: T | undefined;
  try {
    const negotiation = engine.negotiate(signal);
    const failure = Promise.race([stackFailure(engine, signal), negotiation.failure]);
    transport = await Promise.race([negotiation.channel, failure]);
    await Promise.race([transport.opened(), failure]);
    await Promise.race([
      transport.bind({ key: opts.bindingKey, role: opts.role, ...engine.fingerprints() }, signal),
      failure,
    ]);
    opts.debug?.(`direct connection open and bound to the session (${engine.describe()})`);
    return transport;
  } catch (err) {
    await (transport?.close() ?? engine.closePeer());
    throw directError(signal.aborted ? signal.reason : err);
  } finally {
    attempt.abort(createError('CANCELLED', 'direct connection attempt over'));
  }
}

/** Rejects when the stack gives up, or when `signal` aborts; never resolves. */
function stackFailure(engine: DirectEngine<ChannelTransport>, signal: AbortSignal): Promise<never> {
  const failure = new Promise<never>((_, reject) => {
    const unsubscribe = engine.onFailure(reject);
    signal.addEventListener('abort', () => (unsubscribe(), reject(signal.reason)), { once: true });
  });
  failure.catch(() => undefined);
  return failure;
}

export function directError(err: unknown): PortunusError {
  // The channel ending before it was bound is a connection that never came up, not an interrupted transfer.
  if (err instanceof PortunusError && err.code === 'INTERRUPTED')
    return createError('DIRECT_FAILED', `the direct connection failed: ${err.message}`, { cause: err });
  if (err instanceof PortunusError) return err;
  return createError(
    'DIRECT_FAILED',
    `the direct connection failed: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}
