/**
 * Every data path the two sides agreed on, at once (PROTOCOL.md §6.1): the relay pipe is opened at once and the
 * direct attempts (TCP, WebRTC) run in the background, each for at most --direct-timeout; every path is handed over
 * as it comes up and closed when the session is over. Nobody picks a path here: the sender's chooser decides where
 * the data goes, and the receiver reads from every path. Which paths may be used is the policy both sides announced
 * (`--transport`), intersected: `tcp` alone is TCP or nothing, `relay` never direct.
 *
 * A WebRTC path that the data plane loses while the data still moves is dialled again (PROTOCOL.md §6.4
 * "Attempts", rtc-redial.ts).
 */
import { createError, toPortunusError, type PathKind, type PortunusError } from '@portunus/protocol';
import { Link } from './link.js';
import type { RelayClient } from './relay-client.js';
import { RelayTransport } from './relay-transport.js';
import type { RelayRejoins } from './rejoining-relay.js';
import { RtcRedial } from './rtc-redial.js';
import type { DataContext } from './session-hooks.js';
import type { Transport } from './transport.js';

/** How long the WebRTC attempt waits for TCP (which is up to 100x faster here) before it starts anyway. */
export const WEBRTC_AFTER_MS = 1_000;

/**
 * Opens one kind of direct path for the session in `data` (signalling through `data.link`, bound with
 * `data.keys.binding`); aborting `signal` (or the session's end) gives up and releases everything it opened.
 */
export type DirectConnector = (data: DataContext, signal: AbortSignal) => Promise<Transport>;

/** The direct paths a platform can open: the CLI both, a page WebRTC alone. */
export type DirectConnectors = Partial<Record<'tcp' | 'webrtc', DirectConnector>>;

export interface PathsOptions {
  /** The paths both sides allow (bound into the key exchange as abilities). */
  allowed: ReadonlySet<PathKind>;
  directTimeoutMs: number;
  data: DataContext;
  relay: RelayClient;
  /** The relay connection coming back after a loss (rejoining-relay.ts): each return is a new relay path. */
  rejoins?: RelayRejoins;
  connectors: DirectConnectors;
  debug(message: string): void;
  /** A path came up (the relay first, usually); called once per path, before its first frame is read. */
  onUp(link: Link): void;
  /** An attempt failed, or the wait for the peer's next WebRTC attempt ended: `pending` went down. */
  onSettled?(): void;
  /** Receiver: the sender began a new WebRTC attempt (its offer came): it is alive. */
  onPeerAttempt?(): void;
}

export interface Paths {
  /** Attempts still running: a side with no live path waits for them before giving up. */
  readonly pending: number;
  /** Why the last attempt failed (what to report when no path ever came up). */
  readonly lastError: PortunusError | undefined;
  /** Rejects when an attempt must end the transfer (a binding mismatch); never resolves. */
  readonly fatal: Promise<never>;
  /** Resolves once every first attempt has settled (a WebRTC path dialled again is not waited for). */
  readonly settled: Promise<void>;
  /**
   * The data plane gave up on `link` while the data still moves (it ended, or the stall rule found it dead): a
   * WebRTC path is closed and dialled again while attempts are left (the sender's side; the receiver answers).
   */
  lost(link: Link): void;
}

export function startPaths(opts: PathsOptions): Paths {
  const { data, allowed, connectors } = opts;
  let pending = 0;
  let tcpUp = false;
  let lastError: PortunusError | undefined;
  let raise!: (error: PortunusError) => void;
  const fatal = new Promise<never>((_, reject) => (raise = reject));
  fatal.catch(() => undefined);
  let rtc: RtcRedial | undefined;
  const attempt = (kind: PathKind, open: () => Promise<Transport>): Promise<Link | undefined> => {
    pending += 1;
    return open().then(
      (opened) => {
        pending -= 1;
        if (kind === 'tcp') tcpUp = true;
        const link = new Link(opened);
        data.defer(() => link.close());
        // The session may have ended while the attempt completed: the path is closed, not handed over.
        if (data.signal.aborted) return undefined;
        if (kind === 'webrtc') rtc?.up(link);
        opts.onUp(link);
        return link;
      },
      (err: unknown) => {
        pending -= 1;
        const error = toPortunusError(err);
        lastError = error;
        if (mustAbort(error) && !data.signal.aborted) raise(error);
        else opts.debug(`no ${kind} path: ${error.message}`);
        opts.onSettled?.();
        return undefined;
      },
    );
  };
  const direct = (kind: 'tcp' | 'webrtc', connect: DirectConnector): Promise<Link | undefined> => {
    const abort = new AbortController();
    const seconds = opts.directTimeoutMs / 1000;
    const timer = setTimeout(
      () => abort.abort(createError('DIRECT_FAILED', `no ${kind} connection within ${seconds} s`)),
      opts.directTimeoutMs,
    );
    const signal = AbortSignal.any([abort.signal, data.signal]);
    return attempt(kind, () => connect(data, signal)).finally(() => clearTimeout(timer));
  };
  const attempts: Promise<unknown>[] = [];
  if (allowed.has('relay')) {
    attempts.push(attempt('relay', () => RelayTransport.open(opts.relay)));
    const unwatch = opts.rejoins?.watch((client) => {
      if (client !== undefined && !data.signal.aborted) void attempt('relay', () => RelayTransport.open(client));
    });
    if (unwatch !== undefined) data.signal.addEventListener('abort', unwatch, { once: true });
  }
  const tcp = allowed.has('tcp') && connectors.tcp !== undefined ? direct('tcp', connectors.tcp) : undefined;
  if (tcp !== undefined) attempts.push(tcp);
  const webrtc = allowed.has('webrtc') ? connectors.webrtc : undefined;
  if (webrtc !== undefined) {
    const { onSettled, onPeerAttempt } = opts;
    const dial = (connect: DirectConnector) => direct('webrtc', connect);
    rtc = new RtcRedial({ data, connect: webrtc, dial, debug: opts.debug, onSettled, onPeerAttempt });
    attempts.push(tcp === undefined ? rtc.first() : webrtcUnlessTcp(tcp, rtc));
  }

  /**
   * WebRTC only when TCP failed or is not up within WEBRTC_AFTER_MS: a LAN transfer then never loads the WebRTC
   * stack (~40 MB per process, and CPU) for a path that could not beat TCP. Counted as pending while it waits.
   */
  function webrtcUnlessTcp(tcpAttempt: Promise<unknown>, redial: RtcRedial): Promise<void> {
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
        redial.first().then(resolve, resolve);
      };
      const timer = setTimeout(settle, WEBRTC_AFTER_MS);
      data.signal.addEventListener('abort', settle, { once: true });
      void tcpAttempt.then(settle);
    });
  }
  return {
    get pending() {
      // A WebRTC path may yet be dialled again (rtc-redial.ts), and a lost relay connection may come back
      // (rejoining-relay.ts): a side with no live path waits for those too.
      const rejoining = allowed.has('relay') && opts.rejoins?.pending === true ? 1 : 0;
      return pending + (rtc?.pending ?? 0) + rejoining;
    },
    get lastError() {
      return lastError;
    },
    fatal,
    settled: Promise.all(attempts).then(() => undefined),
    lost: (link) => rtc?.lost(link),
  };
}

/** A binding mismatch is an attack or a bug, a cancel is the user's: neither may turn into a quiet fallback. */
export function mustAbort(error: PortunusError): boolean {
  return error.code === 'BINDING_MISMATCH' || error.code === 'CANCELLED';
}
