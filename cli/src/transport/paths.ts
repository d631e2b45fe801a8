/**
 * Every path at once (PROTOCOL.md §14), for `--transport auto` when both sides announced `switch-v1`: the relay
 * pipe is opened at once and the agreed direct attempts (TCP, WebRTC) run in the background, each for at most
 * --direct-timeout; every path is handed over as it comes up and closed when the session is over. Nobody picks a
 * path here: the sender's chooser decides where the data goes, and the receiver reads from every path.
 */
import { createError, toPortunusError, type PortunusError } from '../protocol.js';
import { settleWithin } from '../util/async-queue.js';
import { RelayTransport } from './relay.js';
import { directConnectors, mustAbort, type DirectKind, type OpenTransportOptions } from './select.js';
import type { Transport } from './transport.js';

/** How long the WebRTC attempt waits for TCP (which is up to 100x faster here) before it starts anyway. */
export const WEBRTC_AFTER_MS = 1_000;
/** How long close() waits for sends already queued before it closes anyway. */
const CLOSE_AFTER_SENDS_MS = 2_000;

export interface PathsOptions extends OpenTransportOptions {
  /** A path came up (the relay first, usually); called once per path. */
  onUp(transport: Transport): void;
}

export interface Paths {
  /** Attempts still running: a side with no live path waits for them before giving up. */
  readonly pending: number;
  /** Rejects when an attempt must end the transfer (a binding mismatch); never resolves. */
  readonly fatal: Promise<never>;
  /** Resolves once every attempt has settled (for tests and waiting). */
  readonly settled: Promise<void>;
}

export function startPaths(opts: PathsOptions): Paths {
  const { data, reporter } = opts;
  let pending = 0;
  let tcpUp = false;
  let raise!: (error: PortunusError) => void;
  const fatal = new Promise<never>((_, reject) => (raise = reject));
  fatal.catch(() => undefined);
  const attempt = (kind: string, open: () => Promise<Transport>): Promise<void> => {
    pending += 1;
    return open().then(
      (opened) => {
        pending -= 1;
        if (kind === 'tcp') tcpUp = true;
        const transport = serialized(opened);
        data.defer(() => transport.close());
        // The session may have ended while the attempt completed: the path is closed, not handed over.
        if (data.signal.aborted) return;
        opts.onUp(transport);
      },
      (err: unknown) => {
        pending -= 1;
        const error = toPortunusError(err);
        if (mustAbort(error) && !data.signal.aborted) raise(error);
        else reporter.debug(`no ${kind} path: ${error.message}`);
      },
    );
  };
  const connectors = directConnectors(opts);
  const direct = (kind: DirectKind): Promise<void> => {
    const abort = new AbortController();
    const seconds = opts.directTimeoutMs / 1000;
    const timer = setTimeout(() => abort.abort(createError('DIRECT_FAILED', `no ${kind} connection within ${seconds} s`)), opts.directTimeoutMs);
    return attempt(kind, () => connectors[kind]!(abort.signal)).finally(() => clearTimeout(timer));
  };
  const attempts = [attempt('relay', () => RelayTransport.open(opts.relay))];
  const tcp = data.link.tcp ? direct('tcp') : undefined;
  if (tcp !== undefined) attempts.push(tcp);
  if (data.link.webrtc) attempts.push(tcp === undefined ? direct('webrtc') : webrtcUnlessTcp(tcp));

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
    fatal,
    settled: Promise.all(attempts).then(() => undefined),
  };
}

/**
 * The same transport with its sends taken one at a time: data, acks and control messages share a path here, and a
 * transport's send is not re-entrant (WebRTC checks its credit before sending, so two at once could overrun it).
 */
function serialized(transport: Transport): Transport {
  let tail: Promise<void> = Promise.resolve();
  return {
    kind: transport.kind,
    send(frame) {
      const sent = tail.then(() => transport.send(frame));
      tail = sent.catch(() => undefined);
      return sent;
    },
    frames: () => transport.frames(),
    // What was handed to send() goes out before the close (the last receipt may be queued behind a data frame).
    close: () => settleWithin(tail, CLOSE_AFTER_SENDS_MS).then(() => transport.close()),
  };
}
