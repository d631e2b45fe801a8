/**
 * The receiver's discovery against fake announcers on loopback: only well-formed announcements of our nameplate
 * become candidates (source address + announced port), each once, at most maxCandidates; queries go out.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeLanDatagram, parseLanDatagram, type LanDatagram } from '../../src/lan/datagram.js';
import { startDiscovery, type Discovery, type DiscoveryOptions } from '../../src/lan/discovery.js';
import { freeUdpPort, GROUP, LOOPBACK_ONLY, testSocket, type TestSocket } from './udp.js';

const announce = (nameplate: number, port: number) =>
  encodeLanDatagram({ kind: 'announce', version: 1, nameplate, port });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A discovery for nameplate 42 on a fresh port, plus a counter of the well-formed datagrams it has handled. */
async function setup(
  extra: Partial<DiscoveryOptions> = {},
): Promise<{ port: number; discovery: Discovery; heard: () => Promise<void>; fake: TestSocket }> {
  const port = await freeUdpPort();
  let handled = 0;
  const waiters: (() => void)[] = [];
  const discovery = await startDiscovery({
    nameplate: 42,
    port,
    group: GROUP,
    interfaces: LOOPBACK_ONLY,
    debug: () => {},
    queryBurstMs: [3_600_000], // no queries in these tests unless asked for
    onHeard: () => {
      handled++;
      waiters.splice(0).forEach((w) => w());
    },
    ...extra,
  });
  cleanups.push(() => discovery.close());
  const fake = await testSocket();
  cleanups.push(() => fake.close());
  // Resolves once one more well-formed datagram has been handled than at the time of the call.
  const heard = () => {
    const target = handled + 1;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('datagram not handled in time')), 5000);
      const check = () => (handled >= target ? (clearTimeout(timer), resolve()) : waiters.push(check));
      check();
    });
  };
  return { port, discovery, heard, fake };
}

const aborted = () => AbortSignal.abort();
const never = () => new AbortController().signal;

describe('LAN discovery', () => {
  it('turns announcements of our nameplate into candidates: source address, announced port, each once', async () => {
    const { port, discovery, fake } = await setup();
    await fake.send('hello', port, '127.0.0.1');
    await fake.send(Buffer.concat([Buffer.from(announce(42, 1111)), Buffer.alloc(1)]), port, '127.0.0.1');
    await fake.send(announce(41, 2222), port, '127.0.0.1'); // another sender's nameplate
    await fake.send(encodeLanDatagram({ kind: 'query', version: 1, nameplate: 42 }), port, '127.0.0.1');
    await fake.send(announce(42, 3333), port, '127.0.0.1');
    await fake.send(announce(42, 3333), port, '127.0.0.1'); // repeated rounds are one candidate
    await fake.send(announce(42, 4444), port, '127.0.0.1');
    // Loopback keeps order: had any earlier datagram become a candidate, it would come out first.
    const first = await discovery.next(never());
    expect(first).toEqual({ address: '127.0.0.1', port: 3333, url: 'ws://127.0.0.1:3333/v1' });
    const second = await discovery.next(never());
    expect(second).toEqual({ address: '127.0.0.1', port: 4444, url: 'ws://127.0.0.1:4444/v1' });
    expect(await discovery.next(aborted())).toBeUndefined();
  });

  it('waits for a candidate, and returns undefined once the window closes with none', async () => {
    const { port, discovery, fake } = await setup();
    const pending = discovery.next(never());
    await fake.send(announce(42, 5555), port, '127.0.0.1');
    expect(await pending).toMatchObject({ port: 5555 });
    const window = new AbortController();
    const none = discovery.next(window.signal);
    window.abort();
    expect(await none).toBeUndefined();
  });

  it('keeps at most maxCandidates, so a flood of forged announcements costs bounded work', async () => {
    const { port, discovery, heard, fake } = await setup({ maxCandidates: 3 });
    for (let i = 0; i < 10; i++) {
      const handled = heard();
      await fake.send(announce(42, 6000 + i), port, '127.0.0.1');
      await handled;
    }
    const got: number[] = [];
    for (let c = await discovery.next(aborted()); c !== undefined; c = await discovery.next(aborted()))
      got.push(c.port);
    expect(got).toEqual([6000, 6001, 6002]);
  });

  it('hears announcements sent to the multicast group and to the loopback broadcast address', async () => {
    const { port, discovery, fake } = await setup();
    fake.socket.setMulticastInterface('127.0.0.1');
    await fake.send(announce(42, 7001), port, GROUP);
    expect(await discovery.next(never())).toMatchObject({ port: 7001 });
    await fake.send(announce(42, 7002), port, '127.255.255.255');
    expect(await discovery.next(never())).toMatchObject({ port: 7002 });
  });

  it('asks: queries for its nameplate go out at once', async () => {
    const port = await freeUdpPort();
    // Bound to 127.0.0.1 exactly, this socket gets the unicast copy of each query (it outranks the wildcard bind).
    const sender = await testSocket('127.0.0.1', port, true);
    cleanups.push(() => sender.close());
    const discovery = await startDiscovery({
      nameplate: 42,
      port,
      group: GROUP,
      interfaces: LOOPBACK_ONLY,
      debug: () => {},
    });
    cleanups.push(() => discovery.close());
    const [query] = await sender.waitFor(1);
    expect(parseLanDatagram(query!.msg)).toEqual<LanDatagram>({ kind: 'query', version: 1, nameplate: 42 });
  });
});
