/**
 * The data plane of every transfer (PROTOCOL.md §5): data starts on the first path up, the other agreed
 * paths come up in the background, and the sender moves the data to the path that measures fastest, resuming from
 * the last acknowledged frame. Which paths exist is the policy both sides announced (path-policy.ts): with one path
 * there is simply nothing to move to. This file wires the pieces: keys, the paths, the streams; what happens is
 * told through DataPlaneEvents (the CLI draws a progress bar, the page a progress element).
 */
import {
  AckOpener,
  AckSealer,
  createError,
  DATA_STREAM,
  FrameOpener,
  FrameSealer,
  ResumingOpener,
  type DataAeadFactory,
  type Digest,
  type PathKind,
  type Sha256,
  type Sha256Factory,
  type SwitchReason,
} from '@portunus/protocol';
import type { ControlMux } from './control-mux.js';
import type { Link } from './link.js';
import { agreedPaths } from './path-policy.js';
import { startPaths, type Paths, type PathsOptions } from './paths.js';
import type { DataContext } from './session-hooks.js';
import type { Sink } from './sink.js';
import { SwitchingReceiver } from './switching-receive.js';
import { SwitchingSender } from './switching-send.js';

/** The data moved to `to`: the first path (`from` undefined) or a later move, after `bytes` of data. */
export interface PathMove {
  from: PathKind | undefined;
  to: PathKind;
  reason?: SwitchReason;
  bytes: number;
}

export interface DataPlaneEvents {
  /** Bytes sent (sender) or written (receiver) so far. */
  progress(bytes: number): void;
  moved(move: PathMove): void;
  debug(message: string): void;
}

export interface DataPlaneOptions {
  paths: Omit<PathsOptions, 'onUp' | 'onSettled' | 'onPeerAttempt' | 'allowed' | 'data' | 'debug'>;
  data: DataContext;
  /**
   * AES-256-GCM for the data and ack frames: synchronous (node:crypto in the CLI, noble) or asynchronous (WebCrypto
   * in a page, @portunus/protocol/webcrypto pageDataAead); the bytes on the wire are the same.
   */
  aead: DataAeadFactory;
  sha256: Sha256Factory;
  events: DataPlaneEvents;
  now(): number;
  /** The offered size, when known. */
  total: number | undefined;
  /** The transfer's stall timeout (stall.ts). */
  stallMs: number;
  /** The session's control channel: direct paths join it, so receipts survive the relay connection. */
  control: ControlMux;
  /**
   * A resumed transfer (PROTOCOL.md §4.12): the first `bytes` both sides already hold, fed into `hash`. The stream
   * carries the rest; progress, counts and the SHA-256 cover the whole.
   */
  prefix?: Prefix;
}

export interface Prefix {
  bytes: number;
  hash: Sha256;
}

/** The stream's options once a prefix is counted in: its hash continued, counts offset by its length. */
function afterPrefix(opts: DataPlaneOptions): { sha256: Sha256Factory; offset: number; events: DataPlaneEvents } {
  const { prefix, events } = opts;
  if (prefix === undefined) return { sha256: opts.sha256, offset: 0, events };
  return {
    sha256: () => prefix.hash,
    offset: prefix.bytes,
    events: {
      progress: (bytes) => events.progress(prefix.bytes + bytes),
      moved: (move) => events.moved({ ...move, bytes: prefix.bytes + move.bytes }),
      debug: (message) => events.debug(message),
    },
  };
}

export interface DataPlaneResult extends Digest {
  /** The path that carried the data last. */
  transport: PathKind;
}

export async function sendData(opts: DataPlaneOptions, chunks: AsyncIterable<Uint8Array>): Promise<DataPlaneResult> {
  const { data, aead } = opts;
  const { sha256, offset, events } = afterPrefix(opts);
  const peer = data.side === 'a' ? 'b' : 'a';
  let last: PathKind | undefined;
  let paths: Paths | undefined;
  let running = true;
  const sender = new SwitchingSender({
    chunks,
    sealer: new FrameSealer(aead(data.keys.data[data.side]), DATA_STREAM),
    acks: new AckOpener(aead(data.keys.data[peer])),
    sha256,
    now: opts.now,
    signal: data.signal,
    stallMs: opts.stallMs,
    onProgress: (bytes) => events.progress(bytes),
    onSwitch: (from, to, reason, bytes) => {
      last = to;
      events.moved({ from, to, reason, bytes });
    },
    pendingPaths: () => paths?.pending ?? 1,
    noPathError: () => paths?.lastError,
    // A path lost while the data still moves may be dialled again (WebRTC, paths.ts).
    onLost: (link) => void (running && paths?.lost(link)),
    debug: (m) => events.debug(m),
  });
  paths = open(opts, (link) => (opts.control.addPath(link), sender.addPath(link)));
  paths.fatal.catch((err) => sender.fail(err));
  const sent = await sender.run().finally(() => (running = false));
  return { bytes: offset + sent.bytes, sha256: sent.sha256, transport: last ?? 'relay' };
}

/** The receiving end; `peerSent` is how the session tells it the sender reported the end of the data. */
export interface ReceivingStream {
  done: Promise<DataPlaneResult>;
  peerSent(): void;
}

export function receiveData(opts: DataPlaneOptions, sink: Pick<Sink, 'write'>): ReceivingStream {
  const { data, aead } = opts;
  const { sha256, offset, events } = afterPrefix(opts);
  const peer = data.side === 'a' ? 'b' : 'a';
  let last: PathKind | undefined;
  let paths: Paths | undefined;
  let running = true;
  const receiver = new SwitchingReceiver({
    opener: new ResumingOpener(new FrameOpener(aead(data.keys.data[peer]), DATA_STREAM), DATA_STREAM),
    acks: new AckSealer(aead(data.keys.data[data.side])),
    sha256,
    sink,
    expected: opts.total === undefined ? undefined : opts.total - offset,
    stallMs: opts.stallMs,
    now: opts.now,
    onProgress: (bytes) => events.progress(bytes),
    onPath: (from, to, bytes) => {
      last = to;
      events.moved({ from, to, bytes });
    },
    pendingPaths: () => paths?.pending ?? 1,
    onLost: (link) => void (running && paths?.lost(link)),
    debug: (m) => events.debug(m),
  });
  const onAbort = () => receiver.fail(createError('CANCELLED', 'cancelled'));
  data.signal.addEventListener('abort', onAbort, { once: true });
  paths = open(opts, (link) => (opts.control.addPath(link), receiver.addPath(link)), {
    onSettled: () => receiver.checkAlive(paths?.lastError),
    onPeerAttempt: () => receiver.senderAlive(),
  });
  paths.fatal.catch((err) => receiver.fail(err));
  const opened = paths;
  void opened.settled.then(() => receiver.checkAlive(opened.lastError));
  // A relay connection that gave up coming back may have been the last hope.
  const unwatch = opts.paths.rejoins?.watch((client) => client === undefined && receiver.checkAlive());
  if (unwatch !== undefined) data.signal.addEventListener('abort', unwatch, { once: true });
  const done = receiver
    .run()
    .finally(() => (running = false))
    .then((got) => ({ bytes: offset + got.bytes, sha256: got.sha256, transport: last ?? 'relay' }))
    .finally(() => data.signal.removeEventListener('abort', onAbort));
  return { done, peerSent: () => receiver.peerSent() };
}

function open(
  opts: DataPlaneOptions,
  onUp: (link: Link) => void,
  receiving?: Pick<PathsOptions, 'onSettled' | 'onPeerAttempt'>,
): Paths {
  const allowed = agreedPaths(opts.data.abilities);
  if (allowed.size === 0) throw createError('DIRECT_FAILED', 'no data path both sides allow');
  return startPaths({
    ...opts.paths,
    ...receiving,
    data: opts.data,
    allowed,
    onUp,
    debug: (m) => opts.events.debug(m),
  });
}
