/**
 * `portunus send --count N`: one code, up to N receivers served at once (PROTOCOL.md §2.4 "Seats"). Every receiver
 * has a seat of the nameplate (a relay connection of its own), its own key exchange and keys, its own data plane
 * (the same path policy as a single send) and its own receipt; one that refuses or fails ends only its own seat.
 *
 * The outcome: exit 0 once all N completed. Otherwise the exit code of the first receiver that failed (its usual
 * code, as a single send would have exited), after every seat has ended: a send --count waits for all of them.
 */
import { createError, type Code, type PortunusError, toPortunusError } from '@portunus/protocol';
import { scopedSignal } from '@portunus/client';
import { openSource, type Source } from '../files/source.js';
import { openSeats, type Rendezvous } from '../lan/rendezvous.js';
import { hintOf } from '../ui/error-guide.js';
import { describeOffer } from '../ui/describe.js';
import { reportDone } from '../ui/summary.js';
import type { TransferContext } from './context.js';
import { relayLine } from './relay-line.js';
import { drawCode, presentCode, type SendOptions } from './send.js';
import { serveReceiver } from './serve-receiver.js';

export interface SendManyOptions extends SendOptions {
  /** Receivers to serve, 2 … MAX_SEATS. */
  count: number;
}

export async function sendMany(ctx: TransferContext, opts: SendManyOptions): Promise<void> {
  const { reporter } = ctx;
  if (opts.code !== undefined) {
    throw createError('USAGE', '--count takes its nameplate from the relay: not with --code or PORTUNUS_CODE', {
      hint: 'Leave the code to the relay and pass the code it shows to the receivers.',
    });
  }
  if (ctx.verify === true) {
    throw createError('USAGE', '--verify asks one question per receiver: not with --count', {
      hint: "Compare the `verifier` of each receiver's --json `confirmed` event with what that receiver shows.",
    });
  }
  // Each receiver reads the source on its own (folders and bundles keep per-read digests): one source per seat.
  const sources: Source[] = [await openSource(opts.source, { onWarning: (m) => reporter.warn(m) })];
  try {
    for (let i = 1; i < opts.count; i++) sources.push(await openSource(opts.source));
    const connecting = scopedSignal(ctx.signal);
    const seats = await openSeats({ ...ctx, signal: connecting.signal }, opts.count);
    // From here on cancelling is each session's job: it tells its receiver before the connection closes.
    connecting.release();
    try {
      const code = drawCode(seats[0]!.nameplate, opts, ctx);
      reporter.say(`Sending ${describeOffer(sources[0]!.offer)} to up to ${opts.count} receivers.`);
      presentCode(ctx, seats[0]!, code, opts, opts.count);
      const outcomes = await Promise.all(seats.map((seat, i) => serveSeat(ctx, seat, sources[i]!, code, i + 1)));
      finish(ctx, outcomes);
    } finally {
      await Promise.all(seats.map((seat) => seat.close()));
    }
  } finally {
    await Promise.all(sources.map((source) => source.close()));
  }
}

/** Serves receiver `index` on its seat; its failure is reported as its own and returned, never thrown. */
async function serveSeat(
  ctx: TransferContext,
  seat: Rendezvous,
  source: Source,
  code: Code,
  index: number,
): Promise<PortunusError | undefined> {
  const reporter = ctx.reporter.forReceiver(index);
  const here = { ...ctx, reporter };
  try {
    reportDone(reporter, 'send', await serveReceiver(here, source, relayLine(here, seat), code));
    return undefined;
  } catch (err) {
    const error = toPortunusError(err);
    reporter.error(error);
    return error;
  }
}

/** Reports how many receivers completed; throws the first failure (with the count in its message) unless none. */
function finish(ctx: TransferContext, outcomes: readonly (PortunusError | undefined)[]): void {
  const failures = outcomes.filter((e): e is PortunusError => e !== undefined);
  const completed = outcomes.length - failures.length;
  ctx.reporter.event({ event: 'served', completed, failed: failures.length });
  ctx.reporter.say(`Sent to ${completed} of ${outcomes.length} receivers.`);
  const first = failures[0];
  if (first === undefined) return;
  throw createError(
    first.code,
    `${failures.length} of ${outcomes.length} receivers failed; the first: ${first.message}`,
    {
      hint: hintOf(first),
      cause: first,
    },
  );
}
