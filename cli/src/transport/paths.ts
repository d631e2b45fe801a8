/**
 * Every data path the two sides agreed on, at once (PROTOCOL.md §6.1): the relay pipe is opened at once and the
 * direct attempts (TCP, WebRTC) run in the background, each for at most --direct-timeout; every path is handed over
 * as it comes up and closed when the session is over. Nobody picks a path here: the sender's chooser decides where
 * the data goes, and the receiver reads from every path. Which paths may be used is the policy both sides announced
 * (`--transport`), intersected: `tcp` alone is TCP or nothing, `relay` never direct.
 */
import {
  createError,
  secureRandomBytes,
  toPortunusError,
  type IceServer,
  type PathKind,
  type PortunusError,
  type RandomBytes,
} from '@portunus/protocol';
import type { RelayClient } from '../relay-client/client.js';
import type { DataContext } from '../transfer/session-driver.js';
import type { Reporter } from '../ui/reporter.js';
import { RelayTransport } from './relay.js';
import { tcpHints, webrtcSignals } from './path-signals.js';
import { connectTcp } from './tcp-connect.js';
import { Link } from '../transfer/link.js';
import type { Transport } from './transport.js';
import { connectWebRtc } from './webrtc-connect.js';
import { mergeIceServers } from './webrtc-ice.js';

/** How long the WebRTC attempt waits for TCP (which is up to 100x faster here) before it starts anyway. */
export const WEBRTC_AFTER_MS = 1_000;

export interface PathsOptions {
  /** The paths both sides allow (bound into the key exchange as abilities). */
  allowed: ReadonlySet<PathKind>;
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
  /** A path came up (the relay first, usually); called once per path, before its first frame is read. */
  onUp(link: Link): void;
}

export interface Paths {
  /** Attempts still running: a side with no live path waits for them before giving up. */
  readonly pending: number;
  /** Why the last attempt failed (what to report when no path ever came up). */
  readonly lastError: PortunusError | undefined;
  /** Rejects when an attempt must end the transfer (a binding mismatch); never resolves. */
  readonly fatal: Promise<never>;
  /** Resolves once every attempt has settled. */
  readonly settled: Promise<void>;
}

export function startPaths(opts: PathsOptions): Paths {
  const { data, reporter, allowed } = opts;
  let pending = 0;
  let tcpUp = false;
  let lastError: PortunusError | undefined;
  let raise!: (error: PortunusError) => void;
  const fatal = new Promise<never>((_, reject) => (raise = reject));
  fatal.catch(() => undefined);
  const attempt = (kind: PathKind, open: () => Promise<Transport>): Promise<void> => {
    pending += 1;
    return open().then(
      (opened) => {
        pending -= 1;
        if (kind === 'tcp') tcpUp = true;
        const link = new Link(opened);
        data.defer(() => link.close());
        // The session may have ended while the attempt completed: the path is closed, not handed over.
        if (data.signal.aborted) return;
        opts.onUp(link);
      },
      (err: unknown) => {
        pending -= 1;
        const error = toPortunusError(err);
        lastError = error;
        if (mustAbort(error) && !data.signal.aborted) raise(error);
        else reporter.debug(`no ${kind} path: ${error.message}`);
      },
    );
  };
  const connect = connectors(opts);
  const direct = (kind: 'tcp' | 'webrtc'): Promise<void> => {
    const abort = new AbortController();
    const seconds = opts.directTimeoutMs / 1000;
    const timer = setTimeout(
      () => abort.abort(createError('DIRECT_FAILED', `no ${kind} connection within ${seconds} s`)),
      opts.directTimeoutMs,
    );
    return attempt(kind, () => connect[kind](abort.signal)).finally(() => clearTimeout(timer));
  };
  const attempts: Promise<void>[] = [];
  if (allowed.has('relay')) attempts.push(attempt('relay', () => RelayTransport.open(opts.relay)));
  const tcp = allowed.has('tcp') ? direct('tcp') : undefined;
  if (tcp !== undefined) attempts.push(tcp);
  if (allowed.has('webrtc')) attempts.push(tcp === undefined ? direct('webrtc') : webrtcUnlessTcp(tcp));

  /**
   * WebRTC only when TCP failed or is not up within WEBRTC_AFTER_MS: a LAN transfer then never loads the WebRTC
   * stack (~40 MB per process, and CPU) for a path that could not beat TCP. Counted as pending while it waits.
   */
  function webrtcUnlessTcp(tcpAttempt: Promise<void>): Promise<void> {
    pending += 1;
    return new Promise<void>((resolve) => {
      let waiting = true;
      /** Ends the wait once: start WebRTC unless TCP came up or the session is over. */
      const settle = () => {
        if (!waiting) return;
        waiting = false;
        pending -= 1;
        clearTimeout(timer);
        data.signal.removeEventListener('abort', settle);
        if (tcpUp || data.signal.aborted) return resolve();
        direct('webrtc').then(resolve, resolve);
      };
      const timer = setTimeout(settle, WEBRTC_AFTER_MS);
      data.signal.addEventListener('abort', settle, { once: true });
      void tcpAttempt.then(settle);
    });
  }
  return {
    get pending() {
      return pending;
    },
    get lastError() {
      return lastError;
    },
    fatal,
    settled: Promise.all(attempts).then(() => undefined),
  };
}

/** The direct attempts (each bound to the session's end too); each releases everything it opened on abort. */
function connectors(opts: PathsOptions): Record<'tcp' | 'webrtc', (signal: AbortSignal) => Promise<Transport>> {
  const { data, reporter } = opts;
  const iceServers = mergeIceServers(opts.iceServers, opts.relayIce);
  return {
    tcp: (signal) =>
      connectTcp({
        role: data.role,
        bindingKey: data.keys.binding,
        exchange: tcpHints(data.link),
        random: opts.random ?? secureRandomBytes,
        signal: AbortSignal.any([signal, data.signal]),
        ...(opts.tcpListenHost === undefined ? {} : { listenHost: opts.tcpListenHost }),
        debug: (message) => reporter.debug(message),
      }),
    webrtc: (signal) =>
      connectWebRtc({
        role: data.role,
        link: webrtcSignals(data.link),
        bindingKey: data.keys.binding,
        iceServers,
        signal: AbortSignal.any([signal, data.signal]),
        debug: (message) => reporter.debug(message),
      }),
  };
}

/** A binding mismatch is an attack or a bug, a cancel is the user's: neither may turn into a quiet fallback. */
export function mustAbort(error: PortunusError): boolean {
  return error.code === 'BINDING_MISMATCH' || error.code === 'CANCELLED';
}
