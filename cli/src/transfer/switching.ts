/**
 * `--transport auto` between two sides that both announced `switch-v1` (PROTOCOL.md §14): data starts on the first
 * path up (usually the relay), the direct attempts go on in the background, and the sender moves the data to the
 * path that measures fastest, resuming from the last acknowledged frame. This file wires the pieces for send.ts and
 * receive.ts: keys, the paths, the streams, the reporting. Each switch is reported as a `transport` event.
 */
import {
  ABILITY_SWITCH,
  AckOpener,
  AckSealer,
  createError,
  FrameOpener,
  FrameSealer,
  ResumingOpener,
  type PathKind,
  type SwitchReason,
} from '../protocol.js';
import { nodeAead } from '../../../packages/protocol/src/aead.node.js';
import { startPaths, type Paths } from '../transport/paths.js';
import type { Transport } from '../transport/transport.js';
import type { ControlMux } from './control-mux.js';
import type { OpenTransportOptions, TransportMode } from '../transport/select.js';
import { formatBytes } from '../ui/format.js';
import type { Reporter } from '../ui/reporter.js';
import { DATA_STREAM, type Sink } from './data-stream.js';
import type { DataContext, Digest } from './session-driver.js';
import { SwitchingReceiver } from './switching-receive.js';
import { SwitchingSender, type SwitchTestHooks } from './switching-send.js';

export type { SwitchTestHooks } from './switching-send.js';

/** Whether this transfer switches paths: auto on this side, and the peer announced it too (bound into the key). */
export function switches(mode: TransportMode, data: DataContext): boolean {
  return mode === 'auto' && data.abilities.includes(ABILITY_SWITCH);
}

export interface SwitchingOptions {
  paths: OpenTransportOptions;
  reporter: Reporter;
  now(): number;
  total: number | undefined;
  /** The session's control channel: direct paths join it, so receipts survive the relay connection. */
  control: ControlMux;
  test?: SwitchTestHooks;
}

export interface SwitchingResult extends Digest {
  /** The path that carried the data last. */
  transport: PathKind;
}

export async function sendSwitching(opts: SwitchingOptions, chunks: AsyncIterable<Uint8Array>): Promise<SwitchingResult> {
  const { data } = opts.paths;
  const { reporter, total } = opts;
  let last: PathKind | undefined;
  let paths: Paths | undefined;
  const sender = new SwitchingSender({
    chunks,
    sealer: new FrameSealer(nodeAead(data.keys.data[data.side]), DATA_STREAM),
    acks: new AckOpener(nodeAead(data.keys.data[data.side === 'a' ? 'b' : 'a'])),
    now: opts.now,
    signal: data.signal,
    onProgress: (b) => reporter.updateProgress(b, total),
    onSwitch: (from, to, reason, bytes) => {
      last = to;
      announce(reporter, 'Sending', total, { from, to, reason, bytes });
    },
    pendingPaths: () => paths?.pending ?? 1,
    debug: (m) => reporter.debug(m),
    onControl: (frame) => opts.control.deliver(frame),
    onLost: (t) => opts.control.removePath(t),
    ...(opts.test === undefined ? {} : { test: opts.test }),
  });
  paths = startPaths({ ...opts.paths, onUp: (t) => (join(opts.control, t), sender.addPath(t)) });
  paths.fatal.catch((err) => sender.fail(err));
  const sent = await sender.run();
  reporter.updateProgress(sent.bytes, total, true);
  reporter.stopProgress();
  return { ...sent, transport: last ?? 'relay' };
}

export async function receiveSwitching(opts: SwitchingOptions, sink: Sink): Promise<SwitchingResult> {
  const { data } = opts.paths;
  const { reporter, total } = opts;
  const peer = data.side === 'a' ? 'b' : 'a';
  let last: PathKind | undefined;
  let paths: Paths | undefined;
  const receiver = new SwitchingReceiver({
    opener: new ResumingOpener(new FrameOpener(nodeAead(data.keys.data[peer]), DATA_STREAM), DATA_STREAM),
    acks: new AckSealer(nodeAead(data.keys.data[data.side])),
    sink,
    expected: total,
    onProgress: (b) => reporter.updateProgress(b, total),
    onPath: (from, to, bytes) => {
      last = to;
      announce(reporter, 'Receiving', total, { from, to, bytes });
    },
    pendingPaths: () => paths?.pending ?? 1,
    debug: (m) => reporter.debug(m),
    onControl: (frame) => opts.control.deliver(frame),
    onLost: (t) => opts.control.removePath(t),
  });
  const onAbort = () => receiver.fail(createError('CANCELLED', 'cancelled'));
  data.signal.addEventListener('abort', onAbort, { once: true });
  try {
    paths = startPaths({ ...opts.paths, onUp: (t) => (join(opts.control, t), receiver.addPath(t)) });
    paths.fatal.catch((err) => receiver.fail(err));
    void paths.settled.then(() => receiver.checkAlive());
    const got = await receiver.run();
    reporter.updateProgress(got.bytes, total, true);
    reporter.stopProgress();
    return { ...got, transport: last ?? 'relay' };
  } finally {
    data.signal.removeEventListener('abort', onAbort);
  }
}

/** A direct path carries control messages too (the relay connection carries them anyway). */
function join(control: ControlMux, transport: Transport): void {
  if (transport.kind !== 'relay') control.addPath(transport);
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
  reporter.say(`Switched from ${from} to ${to} after ${formatBytes(bytes)}${reason === undefined ? '' : ` (${REASONS[reason]})`}.`);
  reporter.relabelProgress(`${verb} via ${to}`);
}

const REASONS: Record<SwitchReason, string> = {
  first: 'first path up',
  probe: 'trying the new path',
  slower: 'the new path was slower',
  failover: 'the path carrying the data was lost',
};

/** Parses the PORTUNUS_TEST_* hooks; undefined when none is set. Test-only: see README "Testing". */
export function switchTestHooks(env: NodeJS.ProcessEnv): SwitchTestHooks | undefined {
  const after = env.PORTUNUS_TEST_DIRECT_AFTER_BYTES;
  const kill = env.PORTUNUS_TEST_KILL_PATH;
  const waitAt = env.PORTUNUS_TEST_WAIT_DIRECT_AT_BYTES;
  const direct = env.PORTUNUS_TEST_DIRECT_PATHS;
  if (!after && !kill && !waitAt && direct === undefined) return undefined;
  const hooks: SwitchTestHooks = {};
  if (after) hooks.directAfterBytes = count(after, 'PORTUNUS_TEST_DIRECT_AFTER_BYTES');
  if (waitAt) hooks.waitDirectAtBytes = count(waitAt, 'PORTUNUS_TEST_WAIT_DIRECT_AT_BYTES');
  if (direct !== undefined) {
    const kinds = direct.split(',').filter((k) => k !== '');
    if (!kinds.every((k): k is 'tcp' | 'webrtc' => k === 'tcp' || k === 'webrtc')) {
      throw createError('USAGE', 'PORTUNUS_TEST_DIRECT_PATHS must list tcp and/or webrtc, comma-separated');
    }
    hooks.directPaths = kinds;
  }
  if (kill) {
    const [path, bytes] = kill.split(':');
    if (path !== 'relay' && path !== 'tcp' && path !== 'webrtc') throw createError('USAGE', 'PORTUNUS_TEST_KILL_PATH must be relay:N, tcp:N or webrtc:N');
    hooks.kill = { path, afterBytes: count(bytes ?? '', 'PORTUNUS_TEST_KILL_PATH') };
  }
  return hooks;
}

function count(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw createError('USAGE', `${what} must be a byte count`);
  return n;
}
