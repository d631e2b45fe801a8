/**
 * The session's relay connection as the transfer flows use it: the rendezvous's connection, restored after a loss
 * within the stall timeout when the rendezvous can connect again (a configured relay; not LAN mode), PROTOCOL.md
 * §2.13.
 */
import { RejoiningRelay } from '@portunus/client';
import type { Rendezvous } from '../lan/rendezvous.js';
import { rejoinEvents } from '../ui/rejoin-events.js';
import type { TransferContext } from './context.js';

export function relayLine(ctx: TransferContext, rendezvous: Rendezvous): RejoiningRelay {
  return new RejoiningRelay(rendezvous.client, {
    ...(rendezvous.reconnect === undefined ? {} : { connect: rendezvous.reconnect }),
    windowMs: ctx.stallMs,
    random: ctx.random,
    events: rejoinEvents(ctx.reporter),
  });
}
