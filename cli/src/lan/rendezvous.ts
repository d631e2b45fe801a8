/**
 * The one way the transfer flows reach their peer: a relay connection holding the code's nameplate. With a relay
 * configured (--relay, PORTUNUS_RELAY or the config file) that is a plain client of it; without one, LAN mode: the
 * sender hosts an embedded relay and announces it, the receiver discovers it. Either way the flows get the same
 * RelayClient, and everything above it (PAKE, confirmation, encryption, transports) is unchanged.
 */
import { type RelayClient, type RelaySide } from '@portunus/client';
import { createError } from '@portunus/protocol';
import { connectRelay } from '../relay-client/client.js';
import type { TransferContext } from '../transfer/context.js';
import { pageOrigin } from '../ui/page-link.js';
import { hostLan } from './lan-host.js';
import { joinLan } from './lan-join.js';
import { defaultLanSettings } from './lan-settings.js';

export type RendezvousMode = 'relay' | 'lan';

export type RendezvousRequest =
  /** `nameplate`: a pre-agreed one to claim; otherwise the relay allocates one (LAN mode: drawn at random). */
  { role: 'send'; nameplate?: number } | { role: 'receive'; nameplate: number };

/** What a relay connection asks for: a rendezvous, or a seat (PROTOCOL.md §2.4) of an allocation with `seats`. */
type RelayRequest =
  RendezvousRequest | { role: 'allocate'; seats: number } | { role: 'join'; nameplate: number; token: string };

export interface Rendezvous {
  readonly client: RelayClient;
  readonly mode: RendezvousMode;
  /** The nameplate held (allocated or claimed). */
  readonly nameplate: number;
  /** Our side of the room: "b" means the peer was already waiting. */
  readonly side: RelaySide;
  /**
   * The address (ending in `/`) of the page the relay serves, as someone else reaches it: from the relay URL, or in
   * LAN mode this computer's LAN address; undefined when the relay serves no page (its welcome said so).
   */
  readonly pageUrl?: string;
  /**
   * Opens a new connection to the same relay, for meeting the peer again after this one was lost (PROTOCOL.md
   * §2.13); absent in LAN mode, whose relay lives and dies with the sender.
   */
  readonly reconnect?: (signal: AbortSignal) => Promise<RelayClient>;
  /** Closes the client (and in LAN mode stops announcing and shuts the embedded relay down). Idempotent. */
  close(): Promise<void>;
}

export async function openRendezvous(ctx: TransferContext, request: RendezvousRequest): Promise<Rendezvous> {
  return ctx.relayUrl === undefined ? openLan(ctx, request) : openRelay(ctx, ctx.relayUrl, request);
}

/**
 * send --count: `count` connections to the relay, one per seat of one nameplate (PROTOCOL.md §2.4), the first
 * allocating it, the others joining with its token; all wait before the code is shown, so receivers that arrive
 * together each find a seat. A relay is needed: LAN mode serves one receiver per code.
 */
export async function openSeats(ctx: TransferContext, count: number): Promise<Rendezvous[]> {
  const url = ctx.relayUrl;
  if (url === undefined) {
    throw createError('USAGE', '--count needs a relay (--relay, PORTUNUS_RELAY or the config file)', {
      hint: 'LAN mode serves one receiver per code: send to each in turn, or use a relay.',
    });
  }
  const seats = [await openRelay(ctx, url, { role: 'allocate', seats: count })];
  try {
    const token = seats[0]!.client.seatToken!;
    for (let i = 1; i < count; i++)
      seats.push(await openRelay(ctx, url, { role: 'join', nameplate: seats[0]!.nameplate, token }));
    return seats;
  } catch (err) {
    await Promise.all(seats.map((seat) => seat.close()));
    throw err;
  }
}

async function openRelay(ctx: TransferContext, url: string, request: RelayRequest): Promise<Rendezvous> {
  const connect = (signal: AbortSignal) =>
    connectRelay({ url, ca: ctx.relayCa, agent: ctx.agent, signal, stallTimeoutMs: ctx.stallMs });
  const client = await connect(ctx.signal);
  try {
    let nameplate: number;
    let side: RelaySide;
    if (request.role === 'allocate') {
      nameplate = await client.allocate(request.seats);
      side = 'a';
    } else if (request.role === 'join') {
      await client.join(request.nameplate, request.token);
      nameplate = request.nameplate;
      side = 'a';
    } else if (request.nameplate === undefined) {
      nameplate = await client.allocate();
      side = 'a';
    } else {
      nameplate = request.nameplate;
      side = (await client.claim(nameplate)).side;
    }
    const pageUrl = client.servesPage ? pageOrigin(url) : undefined;
    const reconnect = (signal: AbortSignal) => connect(AbortSignal.any([ctx.signal, signal]));
    return { client, mode: 'relay', nameplate, side, pageUrl, reconnect, close: () => client.close() };
  } catch (err) {
    await client.close();
    throw err;
  }
}

async function openLan(ctx: TransferContext, request: RendezvousRequest): Promise<Rendezvous> {
  const { reporter } = ctx;
  const lan = ctx.lan ?? defaultLanSettings();
  const debug = (m: string) => reporter.debug(m);
  if (request.role === 'send') {
    const host = await hostLan({
      lan,
      agent: ctx.agent,
      signal: ctx.signal,
      random: ctx.random,
      waitMs: ctx.timeoutMs,
      nameplate: request.nameplate,
      debug,
    });
    reporter.say(
      `No relay configured: LAN mode. This computer is the relay (TCP port ${host.relayPort}); the receiver must be on this network.`,
    );
    const { client, nameplate, side, pageUrl } = host;
    return { client, mode: 'lan', nameplate, side, pageUrl, close: once(host.close) };
  }
  reporter.say('No relay configured: looking for the sender on this network…');
  const client = await joinLan({
    lan,
    agent: ctx.agent,
    signal: ctx.signal,
    nameplate: request.nameplate,
    debug,
    now: ctx.now,
  });
  return { client, mode: 'lan', nameplate: request.nameplate, side: 'b', close: () => client.close() };
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
