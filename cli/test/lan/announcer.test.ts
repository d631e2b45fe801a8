/** The sender's announcer on loopback: the exact datagram, repeated rounds, answers to queries (rate-limited), stop. */
import { afterEach, describe, expect, it } from 'vitest';
import { startAnnouncer, type Announcer } from '../../src/lan/announcer.js';
import { encodeLanDatagram, parseLanDatagram } from '../../src/lan/datagram.js';
import { freeUdpPort, GROUP, LOOPBACK_ONLY, testSocket, type TestSocket } from './udp.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const HOUR = 3_600_000;
const query = (nameplate: number) => encodeLanDatagram({ kind: 'query', version: 1, nameplate });

/**
 * A listener bound to 127.0.0.1:port exactly gets the unicast copy of every round (one datagram a round); queries
 * go to the loopback broadcast address, which reaches the announcer's wildcard-bound socket but not the listener.
 */
async function setup(opts: {
  burstMs: number[];
  intervalMs: number;
  now?: () => number;
  onQuery?: (answered: boolean) => void;
}): Promise<{ listener: TestSocket; announcer: Announcer; port: number }> {
  const port = await freeUdpPort();
  const listener = await testSocket('127.0.0.1', port, true);
  cleanups.push(() => listener.close());
  const announcer = await startAnnouncer({
    nameplate: 42,
    relayPort: 4321,
    port,
    group: GROUP,
    interfaces: LOOPBACK_ONLY,
    debug: () => {},
    ...opts,
  });
  cleanups.push(() => announcer.stop());
  return { listener, announcer, port };
}

describe('LAN announcer', () => {
  it('announces nameplate, relay port and version — and nothing else — in rounds', async () => {
    const { listener } = await setup({ burstMs: [0, 0], intervalMs: 0 });
    const rounds = await listener.waitFor(3);
    const expected = Buffer.from(encodeLanDatagram({ kind: 'announce', version: 1, nameplate: 42, port: 4321 }));
    for (const r of rounds) expect(r.msg.equals(expected)).toBe(true);
  });

  it('answers a query for its nameplate at once, ignores queries for others, and rate-limits answers', async () => {
    let clock = 0;
    const answers: boolean[] = [];
    let onAnswer: (() => void) | undefined;
    const { listener, port } = await setup({
      burstMs: [0],
      intervalMs: HOUR,
      now: () => clock,
      onQuery: (answered) => (answers.push(answered), onAnswer?.()),
    });
    await listener.waitFor(1);
    const asker = await testSocket();
    cleanups.push(() => asker.close());
    /** Sends a query at the given fake time and waits until the announcer has decided about it. */
    const ask = async (nameplate: number, at: number) => {
      clock = at;
      const decided = new Promise<void>((resolve) => (onAnswer = resolve));
      await asker.send(query(nameplate), port, '127.255.255.255');
      await decided;
    };
    await ask(41, 1000); // another sender's nameplate
    await ask(42, 1001);
    await listener.waitFor(2);
    await ask(42, 1050); // within 100 ms of the last answer
    await ask(42, 1101);
    await listener.waitFor(3);
    expect(answers).toEqual([false, true, false, true]);
    for (const h of listener.heard)
      expect(parseLanDatagram(h.msg)).toMatchObject({ kind: 'announce', nameplate: 42, port: 4321 });
  });

  it('sends nothing after stop()', async () => {
    const { listener, announcer, port } = await setup({ burstMs: [0], intervalMs: HOUR });
    await listener.waitFor(1);
    await announcer.stop();
    const asker = await testSocket();
    cleanups.push(() => asker.close());
    await asker.send(query(42), port, '127.255.255.255');
    await asker.send('end', port, '127.0.0.1');
    await listener.waitFor(2);
    expect(listener.heard[1]!.msg.toString()).toBe('end');
  });
});
