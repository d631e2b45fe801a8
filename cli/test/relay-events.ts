/**
 * Test helpers over RelayClient.nextEvent(): the next event, required to be of one type. A different event is a
 * test failure, not something to skip.
 */

import { type Paired, type PeerEvent, type RelayClient } from '@portunus/client';
export async function nextPaired(client: Pick<RelayClient, 'nextEvent'>): Promise<Paired> {
  const event = await client.nextEvent();
  if (event.type !== 'paired') throw new Error(`expected paired, got ${event.type}`);
  return event.paired;
}

export async function nextMessage(client: Pick<RelayClient, 'nextEvent'>): Promise<Uint8Array> {
  const event = await client.nextEvent();
  if (event.type !== 'message') throw new Error(`expected a message, got ${event.type}`);
  return event.body;
}

export async function nextOf<T extends PeerEvent['type']>(
  client: Pick<RelayClient, 'nextEvent'>,
  type: T,
): Promise<Extract<PeerEvent, { type: T }>> {
  const event = await client.nextEvent();
  if (event.type !== type) throw new Error(`expected ${type}, got ${event.type}`);
  return event as Extract<PeerEvent, { type: T }>;
}
