/**
 * What a drop transfer does when the connection to the relay is cut (not when the relay refuses): ask again after a
 * pause that doubles from 250 ms up to 4 s, and give up as INTERRUPTED once nothing has moved for the stall
 * timeout. The upload's HEAD after a cut PATCH and the download's Range request on its lease both use it, as the
 * CLI's upload does (cli/src/drop/drop-send.ts headAfterCut).
 */
import { createError, PortunusError } from '@portunus/protocol';

/** Failures that are the connection's, after which the same request is tried again. */
export const RETRIED: ReadonlySet<string> = new Set([
  'RELAY_UNREACHABLE',
  'RELAY_PROTOCOL',
  'RELAY_SHUTDOWN',
  'INTERNAL',
]);

export interface Stall {
  /** When something last moved (the clock of `now`). */
  since: number;
  ms: number;
  now(): number;
}

/** `ask` again after each pause until it answers; rethrows what is not the connection's. */
export async function retryCut<T>(ask: () => Promise<T>, cause: PortunusError, stall: Stall, signal: AbortSignal) {
  for (let delay = 250; ; delay = Math.min(delay * 2, 4000)) {
    if (stall.now() - stall.since > stall.ms) {
      throw createError('INTERRUPTED', `nothing moved for ${stall.ms / 1000} s: ${cause.message}`, { cause });
    }
    await pause(delay, signal);
    try {
      return await ask();
    } catch (err) {
      if (!(err instanceof PortunusError) || !RETRIED.has(err.code)) throw err;
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const cancelled = () => {
      clearTimeout(timer);
      reject(createError('CANCELLED', 'cancelled on this side'));
    };
    const timer = setTimeout(() => (signal.removeEventListener('abort', cancelled), resolve()), ms);
    signal.addEventListener('abort', cancelled, { once: true });
    if (signal.aborted) cancelled();
  });
}
