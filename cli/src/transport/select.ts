/**
 * Path agreement (PROTOCOL.md §Direct path, "Choosing the path"): both sides must put the data on ONE path.
 *
 * - A direct path is tried only when both announced its ability (webrtc-v1, tcp-v1; bound into the PAKE, so a
 *   relay cannot fake them). Without any, the relay pipe is used at once, and a direct-only --transport fails.
 * - Otherwise both start every agreed direct attempt as soon as the receiver has accepted (TCP and WebRTC in
 *   parallel); the receiver alone decides. It waits up to its --direct-timeout for a connection that is up AND
 *   whose binding checked, preferring TCP (the fastest): once WebRTC is up it still gives TCP TCP_PREFERENCE_MS.
 *   Then it sends one sealed `path` message: "tcp", "webrtc" (it keeps that connection) or "relay" (it closes its
 *   attempts and opens the relay pipe).
 * - The sender never decides: it keeps its attempts running until the `path` message arrives and follows it. On a
 *   direct path the receiver has already checked the sender's binding, so the sender's own check is at most one
 *   message away; it waits for it (bounded by its --direct-timeout) and fails rather than fall back, since the
 *   receiver committed to that connection.
 * Because only one side chooses and says so on the ordered control channel, the two can never pick different
 * paths. A WebRTC binding mismatch is never a reason to fall back: it aborts the transfer. (A TCP connection that
 * fails its binding is only closed: anyone may knock on an announced port; see tcp-handshake.ts.)
 */
import { createError, secureRandomBytes, toPortunusError, type DataPath, type IceServer, type PortunusError, type RandomBytes, type Role } from '../protocol.js';
import type { RelayClient } from '../relay/client.js';
import type { DataContext, PeerLink } from '../transfer/session-driver.js';
import type { Reporter } from '../ui/reporter.js';
import { RelayTransport } from './relay.js';
import { connectTcp } from './tcp-connect.js';
import type { Transport } from './transport.js';
import { DIRECT_CHUNK_BYTES } from './webrtc.js';
import { connectWebRtc } from './webrtc-connect.js';
import { mergeIceServers } from './webrtc-ice.js';

export type TransportMode = 'auto' | 'tcp' | 'webrtc' | 'relay';
export type DirectKind = 'tcp' | 'webrtc';
/** The direct attempts this side can make; each must release everything it opened when `signal` aborts. */
export type DirectConnectors = Partial<Record<DirectKind, (signal: AbortSignal) => Promise<Transport>>>;

/** How long the sender waits for the receiver's choice beyond its own direct timeout. */
export const DECISION_GRACE_MS = 30_000;
/** Once WebRTC is up, how much longer the receiver waits for TCP (up to 100x faster here) before taking WebRTC. */
export const TCP_PREFERENCE_MS = 1_000;

export interface SelectOptions {
  role: Role;
  mode: TransportMode;
  link: PeerLink;
  directTimeoutMs: number;
  openRelay(): Promise<Transport>;
  direct: DirectConnectors;
  /** Told why the direct path was given up, when the transfer goes on over the relay. */
  onFallback?(reason: PortunusError): void;
}

interface Attempt {
  kind: DirectKind;
  abort: AbortController;
  connecting: Promise<Transport>;
}

export async function selectTransport(opts: SelectOptions): Promise<Transport> {
  const kinds = (['tcp', 'webrtc'] as const).filter(
    (kind) => opts.link[kind] && opts.direct[kind] !== undefined && (opts.mode === 'auto' || opts.mode === kind),
  );
  if (kinds.length === 0) {
    if (directOnly(opts.mode)) {
      throw createError('DIRECT_FAILED', 'the other side does not offer a direct connection (it runs --transport relay or an older portunus)');
    }
    return opts.openRelay();
  }
  return opts.role === 'receive' ? decide(opts, kinds) : follow(opts, kinds);
}

function start(opts: SelectOptions, kinds: readonly DirectKind[], signal: AbortSignal): Attempt[] {
  return kinds.map((kind) => {
    const abort = new AbortController();
    const onAbort = () => abort.abort(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const connecting = opts.direct[kind]!(abort.signal);
    connecting.catch(() => undefined);
    return { kind, abort, connecting };
  });
}

/** Stops every attempt but the one that made `keep`, and closes what they opened (resolves once closed). */
function release(attempts: readonly Attempt[], keep?: Transport): Promise<void> {
  const reason = createError('DIRECT_FAILED', 'another data path was chosen');
  const others = attempts.filter((a) => a.kind !== keep?.kind);
  for (const a of others) a.abort.abort(reason);
  return Promise.all(others.map((a) => a.connecting.then((t) => t.close(), () => undefined).catch(() => undefined))).then(() => undefined);
}

/** Receiver: the preferred direct path that is up and bound within the timeout, else the relay; then say which. */
async function decide(opts: SelectOptions, kinds: readonly DirectKind[]): Promise<Transport> {
  const overall = new AbortController();
  const seconds = opts.directTimeoutMs / 1000;
  const timer = setTimeout(() => overall.abort(createError('DIRECT_FAILED', `no direct connection within ${seconds} s`)), opts.directTimeoutMs);
  const attempts = start(opts, kinds, overall.signal);
  let direct: Transport | undefined;
  try {
    direct = await preferred(attempts);
  } catch (err) {
    const error = toPortunusError(err);
    if (mustAbort(error) || directOnly(opts.mode)) {
      overall.abort(error);
      throw error;
    }
    opts.onFallback?.(error);
  } finally {
    clearTimeout(timer);
    void release(attempts, direct);
  }
  try {
    await opts.link.sendPath(direct === undefined ? 'relay' : (direct.kind as DirectKind));
  } catch (err) {
    await direct?.close();
    throw err;
  }
  return direct ?? opts.openRelay();
}

/** TCP as soon as it is up; WebRTC once TCP failed, was not tried, or had TCP_PREFERENCE_MS more; else the last error. */
function preferred(attempts: readonly Attempt[]): Promise<Transport> {
  return new Promise<Transport>((resolve, reject) => {
    const up = new Map<DirectKind, Transport>();
    const failed = new Set<DirectKind>();
    let graceOver = false;
    let lastError: unknown;
    let grace: NodeJS.Timeout | undefined;
    const tcpPending = () => attempts.some((a) => a.kind === 'tcp') && !up.has('tcp') && !failed.has('tcp');
    const settle = () => {
      const tcp = up.get('tcp');
      const webrtc = up.get('webrtc');
      if (tcp !== undefined || (webrtc !== undefined && (!tcpPending() || graceOver))) {
        clearTimeout(grace);
        return resolve((tcp ?? webrtc)!);
      }
      if (failed.size === attempts.length) {
        clearTimeout(grace);
        reject(lastError);
      }
    };
    for (const a of attempts) {
      a.connecting.then(
        (t) => {
          up.set(a.kind, t);
          if (a.kind === 'webrtc' && tcpPending()) grace = setTimeout(() => ((graceOver = true), settle()), TCP_PREFERENCE_MS);
          settle();
        },
        (err: unknown) => {
          if (mustAbort(toPortunusError(err))) return reject(err);
          failed.add(a.kind);
          lastError = err;
          settle();
        },
      );
    }
  });
}

/** Sender: keep trying until the receiver's choice arrives, then follow it. */
async function follow(opts: SelectOptions, kinds: readonly DirectKind[]): Promise<Transport> {
  const overall = new AbortController();
  const attempts = start(opts, kinds, overall.signal);
  // A binding mismatch on this side ends the transfer at once, whatever the receiver will say.
  const mismatch = Promise.race(
    attempts.map((a) =>
      a.connecting.then(
        () => new Promise<never>(() => undefined),
        (err: unknown) => (mustAbort(toPortunusError(err)) ? Promise.reject(err) : new Promise<never>(() => undefined)),
      ),
    ),
  );
  let path: DataPath;
  const waitMs = opts.directTimeoutMs + DECISION_GRACE_MS;
  const timer = setTimeout(() => overall.abort(createError('TIMEOUT', `the receiver chose no data path within ${waitMs / 1000} s`)), waitMs);
  try {
    path = await Promise.race([opts.link.path(), mismatch, rejectOnAbort(overall.signal)]);
  } catch (err) {
    overall.abort(err);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const chosen = attempts.find((a) => a.kind === path);
  if (chosen === undefined) {
    overall.abort(createError('DIRECT_FAILED', 'the receiver chose the relay'));
    await release(attempts);
    if (path !== 'relay') throw createError('PROTOCOL', `the receiver chose ${path}, which this side did not try`);
    if (directOnly(opts.mode)) throw createError('DIRECT_FAILED', 'the receiver could not connect directly and chose the relay');
    opts.onFallback?.(createError('DIRECT_FAILED', 'the receiver could not connect directly'));
    return opts.openRelay();
  }
  void release(attempts.filter((a) => a !== chosen));
  const finish = setTimeout(
    () => overall.abort(createError('DIRECT_FAILED', 'the receiver chose the direct path, but it did not complete here')),
    opts.directTimeoutMs,
  );
  try {
    return await chosen.connecting;
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
  /** Where to listen for a direct TCP connection (the LAN --bind address); all interfaces when absent. */
  tcpListenHost?: string;
  random?: RandomBytes;
}

/** The data path of one transfer, agreed with the peer; it stays open until the session is over. */
export async function openTransport(opts: OpenTransportOptions): Promise<Transport> {
  const { data, reporter } = opts;
  const transport = await selectTransport({
    role: data.role,
    mode: opts.mode,
    link: data.link,
    directTimeoutMs: opts.directTimeoutMs,
    openRelay: () => RelayTransport.open(opts.relay),
    direct: directConnectors(opts),
    onFallback: (why) => reporter.debug(`no direct connection (${why.message}); using the relay`),
  });
  data.defer(() => transport.close());
  return transport;
}

/** The direct attempts both sides can make for this transfer (each bound to the session's end too). */
export function directConnectors(opts: OpenTransportOptions): DirectConnectors {
  const { data, reporter } = opts;
  const iceServers = mergeIceServers(opts.iceServers, opts.relayIce);
  return {
    tcp: (signal) =>
      connectTcp({
        role: data.role,
        bindingKey: data.keys.binding,
        exchange: { sendHints: (hints) => data.link.sendHints(hints), peerHints: (abort) => data.link.peerHints(abort) },
        random: opts.random ?? secureRandomBytes,
        signal: AbortSignal.any([signal, data.signal]),
        ...(opts.tcpListenHost === undefined ? {} : { listenHost: opts.tcpListenHost }),
        debug: (message) => reporter.debug(message),
      }),
    webrtc: (signal) =>
      connectWebRtc({
        role: data.role,
        link: data.link,
        bindingKey: data.keys.binding,
        iceServers,
        signal: AbortSignal.any([signal, data.signal]),
        debug: (message) => reporter.debug(message),
      }),
  };
}

/** Plaintext bytes per frame for `transport`: the requested size, capped on the direct path (see DIRECT_CHUNK_BYTES). */
export function chunkSizeFor(transport: Transport, requested: number): number {
  return transport.kind === 'webrtc' ? Math.min(requested, DIRECT_CHUNK_BYTES) : requested;
}

/** --transport tcp or webrtc: that direct path or nothing (exit 7), never the relay. */
function directOnly(mode: TransportMode): boolean {
  return mode === 'tcp' || mode === 'webrtc';
}

/** A binding mismatch is an attack or a bug, a cancel is the user's: neither may turn into a quiet fallback. */
export function mustAbort(error: PortunusError): boolean {
  return error.code === 'BINDING_MISMATCH' || error.code === 'CANCELLED';
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
