/**
 * What the user hears of a relay connection coming back (PROTOCOL.md §2.13): a line and a `--json` event per attempt
 * (`reconnecting`, with the error code of why: the loss, or the previous attempt's failure), and one when it is back.
 */
import type { RejoinEvents } from '@portunus/client';
import type { Reporter } from './reporter.js';

export function rejoinEvents(reporter: Reporter): RejoinEvents {
  return {
    reconnecting: (attempt, reason) => {
      reporter.event({ event: 'reconnecting', attempt, reason: reason.code });
      reporter.say(
        attempt === 1
          ? `Reconnecting to the relay (${reason.message})…`
          : `Reconnecting to the relay, attempt ${attempt} (the last one: ${reason.message})…`,
      );
    },
    reconnected: () => {
      reporter.event({ event: 'reconnected' });
      reporter.say('Reconnected to the relay: the transfer continues where it stopped.');
    },
    debug: (message) => reporter.debug(message),
  };
}
