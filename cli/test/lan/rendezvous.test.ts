/**
 * LAN mode in one process, on loopback only: a host (embedded relay + announcer) and a joiner (discovery + claims),
 * plus decoy relays standing in for stale or forged announcements.
 */
import { type RelayClient } from '@portunus/client';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type RelayHandle } from '@portunus/relay';
import { connectRelay } from '../../src/relay-client/client.js';
import { startAnnouncer } from '../../src/lan/announcer.js';
import { hostLan, MAX_LAN_NAMEPLATE, randomNameplate, type LanHost } from '../../src/lan/lan-host.js';
import { joinLan } from '../../src/lan/lan-join.js';
import type { LanSettings } from '../../src/lan/lan-settings.js';
import { PortunusError, secureRandomBytes } from '@portunus/protocol';
import { freeUdpPort, GROUP, LOOPBACK_ONLY } from './udp.js';
import { nextMessage, nextPaired } from '../relay-events.js';
import { exitCodeOf, hintOf } from '../../src/ui/error-guide.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const LO_TABLE = () => ({
  lo: [
    {
      address: '127.0.0.1',
      netmask: '255.0.0.0',
      family: 'IPv4' as const,
      mac: '00:00:00:00:00:00',
      internal: true,
      cidr: '127.0.0.1/8',
    },
  ],
});

/**
 * Discovery windows. Where a sender answers, joinLan returns as soon as it pairs, so the window only bounds a failure
 * and is long (FOUND_MS). Where the test waits for the window to close, it is short (EMPTY_MS: nobody, or nobody
 * for our nameplate, can answer in any case), or long enough for a refusal to arrive first (REFUSED_MS: one query and
 * its answer in this process, then a claim, take milliseconds; a busy machine may stretch that tenfold).
 */
const FOUND_MS = 30_000;
const EMPTY_MS = 300;
const REFUSED_MS = 2_000;

async function lanSettings(discoverTimeoutMs = FOUND_MS): Promise<LanSettings> {
  return { bind: '127.0.0.1', port: await freeUdpPort(), group: GROUP, interfaces: LO_TABLE, discoverTimeoutMs };
}

const common = { agent: 'portunus/test', signal: new AbortController().signal };

async function host(lan: LanSettings, nameplate?: number): Promise<LanHost> {
  const h = await hostLan({ ...common, lan, random: secureRandomBytes, waitMs: 60_000, nameplate, debug: () => {} });
  cleanups.push(() => h.close());
  return h;
}

async function join(lan: LanSettings, nameplate: number, debug: (m: string) => void = () => {}): Promise<RelayClient> {
  const client = await joinLan({ ...common, lan, nameplate, debug, now: () => performance.now() });
  cleanups.push(() => client.close());
  return client;
}

async function decoyRelay(name = 'decoy'): Promise<RelayHandle> {
  const relay = await startRelay({ host: '127.0.0.1', port: 0, name });
  cleanups.push(() => relay.close(0));
  return relay;
}

/** Announces `nameplate` at `relayPort` on loopback, as a stale or forged announcer would. */
async function fakeAnnouncer(lan: LanSettings, nameplate: number, relayPort: number): Promise<void> {
  const a = await startAnnouncer({
    nameplate,
    relayPort,
    port: lan.port,
    group: lan.group,
    interfaces: LOOPBACK_ONLY,
    debug: () => {},
  });
  cleanups.push(() => a.stop());
}

describe('LAN rendezvous', () => {
  it('a receiver finds the sender by nameplate alone and pairs on its embedded relay', async () => {
    const lan = await lanSettings();
    const h = await host(lan);
    expect(h.side).toBe('a');
    expect(h.nameplate).toBeGreaterThanOrEqual(1);
    expect(h.nameplate).toBeLessThanOrEqual(MAX_LAN_NAMEPLATE);
    const client = await join(lan, h.nameplate);
    expect(client.relayName).toBe('portunus-lan');
    const [a, b] = await Promise.all([nextPaired(h.client), nextPaired(client)]);
    expect(Buffer.from(a.sid).equals(Buffer.from(b.sid))).toBe(true);
    expect([a.side, b.side]).toEqual(['a', 'b']);
  });

  it('close() shuts the embedded relay down', async () => {
    const lan = await lanSettings();
    const h = await host(lan);
    await h.close();
    await expect(
      connectRelay({ url: `ws://127.0.0.1:${h.relayPort}`, agent: 'x', connectTimeoutMs: 2000 }),
    ).rejects.toMatchObject({ code: 'RELAY_UNREACHABLE' });
  });

  it('skips a relay where the nameplate is not waiting (our claim made the room: side a) and finds the real one', async () => {
    const lan = await lanSettings();
    const decoy = await decoyRelay();
    await fakeAnnouncer(lan, 77, decoy.port);
    let triedDecoy!: () => void;
    const decoyTried = new Promise<void>((resolve) => (triedDecoy = resolve));
    const joined = join(lan, 77, (m) => m.includes('no sender waiting') && triedDecoy());
    await decoyTried;
    await host(lan, 77);
    const client = await joined;
    expect(client.relayName).toBe('portunus-lan');
  });

  it('nobody announcing: NO_SENDER_FOUND (exit 6) once the discovery window closes', async () => {
    const lan = await lanSettings(EMPTY_MS);
    const err = await joinLan({ ...common, lan, nameplate: 5, debug: () => {}, now: () => 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PortunusError);
    expect(err).toMatchObject({ code: 'NO_SENDER_FOUND' });
    expect(exitCodeOf(err as PortunusError)).toBe(6);
    expect((err as PortunusError).message).toMatch(/no sender found on this network/);
    expect(hintOf(err as PortunusError)).toMatch(/same network.*--relay/);
  });

  it('announcements of other nameplates are not candidates', async () => {
    const lan = await lanSettings(EMPTY_MS);
    const h = await host(lan);
    const other = (h.nameplate % MAX_LAN_NAMEPLATE) + 1;
    await expect(joinLan({ ...common, lan, nameplate: other, debug: () => {}, now: () => 0 })).rejects.toMatchObject({
      code: 'NO_SENDER_FOUND',
    });
  });

  it('a relay where the nameplate is already paired: the refusal (exit 3) is reported, not "nobody found"', async () => {
    const lan = await lanSettings(REFUSED_MS);
    const busy = await decoyRelay();
    const a = await connectRelay({ url: busy.url, agent: 'x' });
    const b = await connectRelay({ url: busy.url, agent: 'x' });
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    await a.claim(88);
    await b.claim(88);
    await fakeAnnouncer(lan, 88, busy.port);
    await expect(joinLan({ ...common, lan, nameplate: 88, debug: () => {}, now: () => 0 })).rejects.toMatchObject({
      code: 'NAMEPLATE_IN_USE',
    });
  });

  it('draws LAN nameplates uniformly from 1..MAX_LAN_NAMEPLATE', () => {
    let i = 0;
    const seq = [
      [0xff, 0xff],
      [0, 0],
      [0x27, 0x0e],
    ]; // 65535 is rejected (above the largest multiple); 0 → 1; 9998 → 9999
    const random = () => Uint8Array.from(seq[i++]!);
    expect(randomNameplate(random)).toBe(1);
    expect(randomNameplate(random)).toBe(9999);
    expect(i).toBe(3);
  });
});
