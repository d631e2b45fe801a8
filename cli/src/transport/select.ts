/**
 * Path agreement (PROTOCOL.md §Direct path, "Choosing the path"): both sides must put the data on ONE path.
 *
 * - Neither side tries WebRTC unless both announced webrtc-v1 (bound into the PAKE, so a relay cannot fake it).
 *   Without it the relay pipe is used at once, and `--transport webrtc` fails.
 * - Otherwise both start WebRTC as soon as the receiver has accepted; the receiver alone decides. It waits up to
 *   its --direct-timeout for a channel that is open AND whose binding MAC checked, then sends one sealed
 *   `path` message: "webrtc" (it keeps the channel) or "relay" (it closes its attempt and opens the relay pipe).
 * - The sender never decides: it keeps its attempt running until the `path` message arrives and follows it. On
 *   "webrtc" the receiver has already checked the sender's MAC, so the sender's own check is at most one message
 *   away; it waits for it (bounded by its --direct-timeout) and fails rather than fall back, since the receiver
 *   committed to the channel.
 * Because only one side chooses and says so on the ordered control channel, the two can never pick different
 * paths. A binding mismatch is never a reason to fall back: it aborts the transfer.
 */
import { createError, toPortunusError, type DataPath, type IceServer, type PortunusError, type Role } from '../protocol.js';
import type { RelayClient } from '../relay/client.js';
import type { DataContext, PeerLink } from '../transfer/session-driver.js';
import type { Reporter } from '../ui/reporter.js';
import { RelayTransport } from './relay.js';
import type { Transport } from './transport.js';
import { DIRECT_CHUNK_BYTES } from './webrtc.js';
import { connectWebRtc } from './webrtc-connect.js';
import { mergeIceServers } from './webrtc-ice.js';

export type TransportMode = 'auto' | 'webrtc' | 'relay';

/** How long the sender waits for the receiver's choice beyond its own direct timeout. */
export const DECISION_GRACE_MS = 30_000;

export interface SelectOptions {
  role: Role;
  mode: TransportMode;
  link: PeerLink;
  directTimeoutMs: number;
  openRelay(): Promise<Transport>;
  /** Tries the direct path; must release everything it opened when `signal` aborts, and reject with its reason. */
  connectDirect(signal: AbortSignal): Promise<Transport>;
  /** Told why the direct path was given up, when the transfer goes on over the relay. */
  onFallback?(reason: PortunusError): void;
}

export async function selectTransport(opts: SelectOptions): Promise<Transport> {
  if (!opts.link.webrtc) {
    if (opts.mode === 'webrtc') {
      throw createError('DIRECT_FAILED', 'the other side does not offer a direct connection (it runs --transport relay or an older portunus)');
    }
    return opts.openRelay();
  }
  return opts.role === 'receive' ? decide(opts) : follow(opts);
}

/** Receiver: the direct path if it is up and bound within the timeout, else the relay; then say which. */
async function decide(opts: SelectOptions): Promise<Transport> {
  const attempt = new AbortController();
  const seconds = opts.directTimeoutMs / 1000;
  const timer = setTimeout(() => attempt.abort(createError('DIRECT_FAILED', `no direct connection within ${seconds} s`)), opts.directTimeoutMs);
  let direct: Transport | undefined;
  try {
    direct = await opts.connectDirect(attempt.signal);
  } catch (err) {
    const error = toPortunusError(err);
    if (mustAbort(error) || opts.mode === 'webrtc') throw error;
    opts.onFallback?.(error);
  } finally {
    clearTimeout(timer);
  }
  try {
    await opts.link.sendPath(direct === undefined ? 'relay' : 'webrtc');
  } catch (err) {
    await direct?.close();
    throw err;
  }
  return direct ?? opts.openRelay();
}

/** Sender: keep trying until the receiver's choice arrives, then follow it. */
async function follow(opts: SelectOptions): Promise<Transport> {
  const attempt = new AbortController();
  const connecting = opts.connectDirect(attempt.signal);
  connecting.catch(() => undefined);
  // A binding mismatch on this side ends the transfer at once, whatever the receiver will say.
  const mismatch = connecting.then(
    () => new Promise<never>(() => undefined),
    (err: unknown) => (mustAbort(toPortunusError(err)) ? Promise.reject(err) : new Promise<never>(() => undefined)),
  );
  let path: DataPath;
  const waitMs = opts.directTimeoutMs + DECISION_GRACE_MS;
  const timer = setTimeout(() => attempt.abort(createError('TIMEOUT', `the receiver chose no data path within ${waitMs / 1000} s`)), waitMs);
  try {
    path = await Promise.race([opts.link.path(), mismatch, rejectOnAbort(attempt.signal)]);
  } catch (err) {
    attempt.abort(err);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  if (path === 'relay') {
    attempt.abort(createError('DIRECT_FAILED', 'the receiver chose the relay'));
    await connecting.then((t) => t.close(), () => undefined);
    if (opts.mode === 'webrtc') throw createError('DIRECT_FAILED', 'the receiver could not connect directly and chose the relay');
    opts.onFallback?.(createError('DIRECT_FAILED', 'the receiver could not connect directly'));
    return opts.openRelay();
  }
  const finish = setTimeout(
    () => attempt.abort(createError('DIRECT_FAILED', 'the receiver chose the direct path, but it did not complete here')),
    opts.directTimeoutMs,
  );
  try {
    return await connecting;
  } finally {
    clearTimeout(finish);
  }
}

export interface OpenTransportOptions {
  mode: TransportMode;
  directTimeoutMs: number;
  /** This side's ICE servers (they take precedence) and the relay's. */
  iceServers: readonly IceServer[];
  relayIce: readonly IceServer[];
  data: DataContext;
  relay: RelayClient;
  reporter: Pick<Reporter, 'debug'>;
}

/** The data path of one transfer, agreed with the peer; it stays open until the session is over. */
export async function openTransport(opts: OpenTransportOptions): Promise<Transport> {
  const { data, reporter } = opts;
  const iceServers = mergeIceServers(opts.iceServers, opts.relayIce);
  const transport = await selectTransport({
    role: data.role,
    mode: opts.mode,
    link: data.link,
    directTimeoutMs: opts.directTimeoutMs,
    openRelay: () => RelayTransport.open(opts.relay),
    connectDirect: (signal) =>
      connectWebRtc({
        role: data.role,
        link: data.link,
        bindingKey: data.keys.binding,
        iceServers,
        signal: AbortSignal.any([signal, data.signal]),
        debug: (message) => reporter.debug(message),
      }),
    onFallback: (why) => reporter.debug(`no direct connection (${why.message}); using the relay`),
  });
  data.defer(() => transport.close());
  return transport;
}

/** Plaintext bytes per frame for `transport`: the requested size, capped on the direct path (see DIRECT_CHUNK_BYTES). */
export function chunkSizeFor(transport: Transport, requested: number): number {
  return transport.kind === 'webrtc' ? Math.min(requested, DIRECT_CHUNK_BYTES) : requested;
}

/** A binding mismatch is an attack or a bug, a cancel is the user's: neither may turn into a quiet fallback. */
function mustAbort(error: PortunusError): boolean {
  return error.code === 'BINDING_MISMATCH' || error.code === 'CANCELLED';
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
