/**
 * A receiver that came first waits for the sender, for up to --timeout (600 s by default), and a mistyped number
 * before the first dash waits just as patiently for a sender that never comes. On a terminal, once NOBODY_YET_MS
 * has passed, it says so and what to check; it keeps waiting (a receiver may rightly start first, as in CI).
 * Scripts get the `waiting` event as before and nothing more.
 */
import type { Reporter } from './reporter.js';

export const NOBODY_YET_MS = 10_000;

/** Announces the wait; returns the function to call once the sender came (or the wait ended otherwise). */
export function showWaiting(reporter: Reporter, nameplate: number, relayUrl: string | undefined): () => void {
  reporter.event({ event: 'waiting', nameplate });
  reporter.say('Waiting for the sender… (Ctrl-C to cancel)');
  if (!reporter.interactive) return () => {};
  const relay = relayUrl === undefined ? 'the same relay' : `the same relay (${relayUrl})`;
  return reporter.clock.after(NOBODY_YET_MS, () => {
    reporter.say(
      `No sender has come with code ${nameplate}-… in ${NOBODY_YET_MS / 1000} s. Still waiting; meanwhile check:`,
    );
    reporter.say(
      `  - the number before the first dash (${nameplate}): a typo there means waiting for a sender who never comes;`,
    );
    reporter.say(`  - that the sender is running and uses ${relay}.`);
  });
}
