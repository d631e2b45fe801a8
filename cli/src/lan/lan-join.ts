/**
 * LAN mode, receiving side: discover relays announcing our nameplate and claim it on each in turn. The sender's
 * relay is the one where the nameplate is already waiting: our claim comes back as side "b" and pairs us. Side "a"
 * means we just created the room, so that relay is not our sender's (a stale or forged announcement): leave and try
 * the next. A forged announcement can point us at a relay where someone who knows the nameplate (but not the
 * secret) waits; then the PAKE fails — one wasted guess for the attacker, exit 3 for us, and no data.
 */
import { type RelayClient } from '@portunus/client';
import { createError, PortunusError } from '@portunus/protocol';
import { connectRelay } from '../relay-client/client.js';
import { startDiscovery, type Candidate, type Discovery } from './discovery.js';
import type { LanSettings } from './lan-settings.js';
import { ipv4Interfaces } from './targets.js';

export interface LanJoinOptions {
  lan: LanSettings;
  agent: string;
  signal: AbortSignal;
  nameplate: number;
  debug: (message: string) => void;
  /** Milliseconds, monotonic: only for the "found in … ms" debug line. */
  now: () => number;
}

/** Bound on connecting to one candidate: on a LAN a relay answers in milliseconds. */
export const CANDIDATE_CONNECT_TIMEOUT_MS = 3000;

export async function joinLan(opts: LanJoinOptions): Promise<RelayClient> {
  const started = opts.now();
  const discovery = await openDiscovery(opts);
  const window = new AbortController();
  const timer = setTimeout(() => window.abort(), opts.lan.discoverTimeoutMs);
  const stopLooking = () => window.abort();
  opts.signal.addEventListener('abort', stopLooking, { once: true });
  // A specific refusal (nameplate in use or burned at the sender's relay) says more than "nobody found".
  let refusal: PortunusError | undefined;
  try {
    for (let c = await discovery.next(window.signal); c !== undefined; c = await discovery.next(window.signal)) {
      const outcome = await tryCandidate(c, opts);
      if (outcome instanceof PortunusError) refusal = outcome;
      else if (outcome !== undefined) {
        opts.debug(`LAN: paired with the sender's relay ${Math.round(opts.now() - started)} ms after starting to look`);
        return outcome;
      }
    }
    if (opts.signal.aborted) throw createError('INTERRUPTED', 'cancelled');
    throw refusal ?? noSender(opts.lan.discoverTimeoutMs);
  } finally {
    clearTimeout(timer);
    opts.signal.removeEventListener('abort', stopLooking);
    await discovery.close();
  }
}

async function openDiscovery(opts: LanJoinOptions): Promise<Discovery> {
  try {
    return await startDiscovery({
      nameplate: opts.nameplate,
      port: opts.lan.port,
      group: opts.lan.group,
      // --bind limits the receiver too: it listens and asks on that interface only.
      interfaces: () => ipv4Interfaces(opts.lan.interfaces(), opts.lan.bind),
      debug: opts.debug,
    });
  } catch (err) {
    throw createError(
      'NO_SENDER_FOUND',
      `cannot listen for senders on UDP port ${opts.lan.port}: ${(err as Error).message}`,
      {
        hint: 'Another program holds the LAN discovery port. Use --relay ws://host:port on both sides instead.',
        cause: err,
      },
    );
  }
}

/** The paired client, a refusal worth reporting, or undefined when this candidate is simply not our sender. */
async function tryCandidate(c: Candidate, opts: LanJoinOptions): Promise<RelayClient | PortunusError | undefined> {
  let client: RelayClient | undefined;
  try {
    client = await connectRelay({
      url: c.url,
      agent: opts.agent,
      signal: opts.signal,
      connectTimeoutMs: CANDIDATE_CONNECT_TIMEOUT_MS,
    });
    const { side } = await client.claim(opts.nameplate);
    if (side === 'b') {
      opts.debug(`LAN: joined the sender at ${c.address}:${c.port}`);
      return client;
    }
    opts.debug(`LAN: ${c.address}:${c.port} had no sender waiting; trying the next`);
  } catch (err) {
    if (opts.signal.aborted) throw err;
    opts.debug(`LAN: ${c.address}:${c.port}: ${(err as Error).message}`);
    if (err instanceof PortunusError && (err.code === 'NAMEPLATE_IN_USE' || err.code === 'NAMEPLATE_BURNED')) {
      await client?.close();
      return err;
    }
  }
  await client?.close();
  return undefined;
}

function noSender(timeoutMs: number): PortunusError {
  return createError('NO_SENDER_FOUND', `no sender found on this network within ${timeoutMs / 1000} s`);
}
