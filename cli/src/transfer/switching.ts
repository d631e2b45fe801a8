/**
 * The data plane of every transfer (PROTOCOL.md §5): data starts on the first path up, the other agreed paths come
 * up in the background, and the sender moves the data to the path that measures fastest, resuming from the last
 * acknowledged frame. Which paths exist is the policy both sides announced (`--transport`): with one path there is
 * simply nothing to move to. This file wires the pieces for send.ts and receive.ts: keys, the paths, the streams,
 * the reporting. Each move is reported as a `transport` event.
 */
import {
  AckOpener,
  AckSealer,
  createError,
  DATA_STREAM,
  type Digest,
  FrameOpener,
  FrameSealer,
  type PathKind,
  ResumingOpener,
  type SwitchReason,
} from '@portunus/protocol';
import { nodeAead } from '@portunus/protocol/node';
import type { Sink } from '../files/sink.js';
import { startPaths, type Paths, type PathsOptions } from '../transport/paths.js';
import type { Link } from './link.js';
import type { ControlMux } from './control-mux.js';
import { formatBytes } from '../ui/format.js';
import type { Reporter } from '../ui/reporter.js';
import type { DataContext } from './session-driver.js';
import { SwitchingReceiver } from './switching-receive.js';
import { SwitchingSender } from './switching-send.js';
import { agreedPaths } from './context.js';

export interface SwitchingOptions {
  paths: Omit<PathsOptions, 'onUp' | 'allowed' | 'data'>;
  data: DataContext;
  reporter: Reporter;
  now(): number;
  total: number | undefined;
  /** The transfer's stall timeout (stall.ts). */
  stallMs: number;
  /** The session's control channel: direct paths join it, so receipts survive the relay connection. */
  control: ControlMux;
}

export interface SwitchingResult extends Digest {
  /** The path that carried the data last. */
  transport: PathKind;
}

export async function sendSwitching(
  opts: SwitchingOptions,
  chunks: AsyncIterable<Uint8Array>,
): Promise<SwitchingResult> {
  const { data, reporter, total } = opts;
  let last: PathKind | undefined;
  let paths: Paths | undefined;
  const sender = new SwitchingSender({
    chunks,
    sealer: new FrameSealer(nodeAead(data.keys.data[data.side]), DATA_STREAM),
    acks: new AckOpener(nodeAead(data.keys.data[data.side === 'a' ? 'b' : 'a'])),
    now: opts.now,
    signal: data.signal,
    stallMs: opts.stallMs,
    onProgress: (b) => reporter.updateProgress(b, total),
    onSwitch: (from, to, reason, bytes) => {
      last = to;
      announce(reporter, 'Sending', total, { from, to, reason, bytes });
    },
    pendingPaths: () => paths?.pending ?? 1,
    noPathError: () => paths?.lastError,
    debug: (m) => reporter.debug(m),
  });
  paths = open(opts, (link) => (opts.control.addPath(link), sender.addPath(link)));
  paths.fatal.catch((err) => sender.fail(err));
  const sent = await sender.run();
  reporter.updateProgress(sent.bytes, total, true);
  reporter.stopProgress();
  return { ...sent, transport: last ?? 'relay' };
}

/** The receiving end; `peerSent` is how the session tells it the sender reported the end of the data. */
export interface ReceivingStream {
  done: Promise<SwitchingResult>;
  peerSent(): void;
}

export function receiveSwitching(opts: SwitchingOptions, sink: Pick<Sink, 'write'>): ReceivingStream {
  const { data, reporter, total } = opts;
  const peer = data.side === 'a' ? 'b' : 'a';
  let last: PathKind | undefined;
  let paths: Paths | undefined;
  const receiver = new SwitchingReceiver({
    opener: new ResumingOpener(new FrameOpener(nodeAead(data.keys.data[peer]), DATA_STREAM), DATA_STREAM),
    acks: new AckSealer(nodeAead(data.keys.data[data.side])),
    sink,
    expected: total,
    stallMs: opts.stallMs,
    now: opts.now,
    onProgress: (b) => reporter.updateProgress(b, total),
    onPath: (from, to, bytes) => {
      last = to;
      announce(reporter, 'Receiving', total, { from, to, bytes });
    },
    pendingPaths: () => paths?.pending ?? 1,
    debug: (m) => reporter.debug(m),
  });
  const onAbort = () => receiver.fail(createError('CANCELLED', 'cancelled'));
  data.signal.addEventListener('abort', onAbort, { once: true });
  paths = open(opts, (link) => (opts.control.addPath(link), receiver.addPath(link)));
  paths.fatal.catch((err) => receiver.fail(err));
  const opened = paths;
  void opened.settled.then(() => receiver.checkAlive(opened.lastError));
  const done = receiver
    .run()
    .then((got) => {
      reporter.updateProgress(got.bytes, total, true);
      reporter.stopProgress();
      return { ...got, transport: last ?? 'relay' };
    })
    .finally(() => data.signal.removeEventListener('abort', onAbort));
  return { done, peerSent: () => receiver.peerSent() };
}

function open(opts: SwitchingOptions, onUp: (link: Link) => void): Paths {
  const allowed = agreedPaths(opts.data.abilities);
  if (allowed.size === 0) throw createError('DIRECT_FAILED', 'no data path both sides allow');
  return startPaths({ ...opts.paths, data: opts.data, allowed, onUp });
}

/** The first path is `connected`; every later move is a `transport` event and a line for people. */
function announce(
  reporter: Reporter,
  verb: string,
  total: number | undefined,
  move: { from: PathKind | undefined; to: PathKind; reason?: SwitchReason; bytes: number },
): void {
  const { from, to, reason, bytes } = move;
  if (from === undefined) {
    reporter.event({ event: 'connected', transport: to });
    reporter.say(`Connected (${to}). ${verb}…`);
    reporter.startProgress(total, `${verb} via ${to}`);
    return;
  }
  reporter.event({ event: 'transport', from, to, ...(reason === undefined ? {} : { reason }), bytes });
  reporter.say(
    `Switched from ${from} to ${to} after ${formatBytes(bytes)}${reason === undefined ? '' : ` (${REASONS[reason]})`}.`,
  );
  reporter.relabelProgress(`${verb} via ${to}`);
}

const REASONS: Record<SwitchReason, string> = {
  first: 'first path up',
  probe: 'trying the new path',
  slower: 'the new path was slower',
  failover: 'the path carrying the data was lost',
};
