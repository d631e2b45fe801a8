/**
 * What the data plane tells (@portunus/client DataPlaneEvents), as the CLI shows it: the progress bar, a line per
 * move between paths for people, and `connected` / `transport` events for --json.
 */
import type { DataPlaneEvents, PathMove } from '@portunus/client';
import type { SwitchReason } from '@portunus/protocol';
import { formatBytes } from './format.js';
import type { Reporter } from './reporter.js';

/** `verb` is 'Sending' or 'Receiving'; `total` the offered size, when known. */
export function dataPlaneEvents(reporter: Reporter, verb: string, total: number | undefined): DataPlaneEvents {
  return {
    progress: (bytes) => reporter.updateProgress(bytes, total),
    moved: (move) => announce(reporter, verb, total, move),
    debug: (message) => reporter.debug(message),
  };
}

/** The data is all there: the bar shows the final count and stops. */
export function finishProgress(reporter: Reporter, bytes: number, total: number | undefined): void {
  reporter.updateProgress(bytes, total, true);
  reporter.stopProgress();
}

/** Both sides say how much of the data a resume reuses (PROTOCOL.md §4.12): a line, and the `resume` event. */
export function sayResumed(reporter: Reporter, bytes: number, total: number | undefined): void {
  reporter.event({ event: 'resume', bytes, ...(total === undefined ? {} : { total }) });
  const of = total === undefined ? '' : ` of ${formatBytes(total)}`;
  reporter.say(`Resuming: ${formatBytes(bytes)}${of} already there, not sent again.`);
}

/** The first path is `connected`; every later move is a `transport` event and a line for people. */
function announce(reporter: Reporter, verb: string, total: number | undefined, move: PathMove): void {
  const { from, to, reason, bytes } = move;
  if (from === undefined) {
    reporter.event({ event: 'connected', transport: to });
    reporter.say(`Connected (${to}). ${verb}…`);
    reporter.startProgress(total, `${verb} via ${to}`);
    return;
  }
  reporter.event({ event: 'transport', from, to, ...(reason === undefined ? {} : { reason }), bytes });
  const why = reason === undefined ? '' : ` (${REASONS[reason]})`;
  // From a path to one of the same kind: a WebRTC path dialled again after the last one was lost, or the relay
  // connected again (whose own lines, reconnecting and reconnected, already said so).
  if (from === to) {
    if (to !== 'relay') reporter.say(`Connected again (${to}) after ${formatBytes(bytes)}${why}.`);
  } else reporter.say(`Switched from ${from} to ${to} after ${formatBytes(bytes)}${why}.`);
  reporter.relabelProgress(`${verb} via ${to}`);
}

const REASONS: Record<SwitchReason, string> = {
  first: 'first path up',
  probe: 'trying the new path',
  slower: 'the new path was slower',
  failover: 'the path carrying the data was lost',
};
