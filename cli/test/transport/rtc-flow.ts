/** For the message of a Chromium test that timed out (rtc-chromium.test.ts), in Node and in the page alike. */

/** ChannelTransport's counters (private to TypeScript, plain fields at run time): what a stalled transfer waits on. */
export function flowOf(transport: unknown): Record<string, unknown> {
  const t = transport as Record<string, unknown> & { channel?: { bufferedAmount(): number; readyState(): string } };
  return {
    sent: t.sent,
    credit: t.credit,
    received: t.received,
    consumed: t.consumed,
    creditSent: t.creditSent,
    queued: (t.inbox as unknown[] | undefined)?.length,
    buffered: t.channel?.bufferedAmount(),
    state: t.channel?.readyState(),
  };
}
