/**
 * The rejoin exchange of PROTOCOL.md §2.13 over a connection the relay just paired under the session's reconnect id:
 * both sides send a fresh nonce, then a MAC under the session's reconnect key over both nonces, the relay's sid and
 * the index of the next sealed control message each expects (rejoin.ts). Whoever answered without the key fails here.
 */
import {
  checkRejoinMac,
  createError,
  encodeRejoinMessage,
  parseRejoinMessage,
  type RandomBytes,
  REJOIN_NONCE_BYTES,
  rejoinMac,
  type RejoinMessage,
  type RejoinTranscript,
} from '@portunus/protocol';
import type { RelayClient } from './relay-client.js';
import type { Armed } from './rejoining-relay.js';

/** Proves the key to the peer and checks its proof; resolves with the index the peer expects next from this side. */
export async function proveRejoin(
  client: RelayClient,
  { keys, side, expected }: Armed,
  sid: Uint8Array,
  random: RandomBytes,
): Promise<number> {
  const mine = random(REJOIN_NONCE_BYTES);
  client.sendMessage(encodeRejoinMessage({ type: 'rejoin', nonce: mine }));
  const { nonce } = await nextRejoin(client, 'rejoin');
  const t: RejoinTranscript =
    side === 'a' ? { sid, nonceA: mine, nonceB: nonce } : { sid, nonceA: nonce, nonceB: mine };
  const next = expected();
  client.sendMessage(
    encodeRejoinMessage({ type: 'rejoin-confirm', next, mac: rejoinMac(keys.reconnect.key, side, t, next) }),
  );
  const confirm = await nextRejoin(client, 'rejoin-confirm');
  if (!checkRejoinMac(keys.reconnect.key, side === 'a' ? 'b' : 'a', t, confirm.next, confirm.mac)) {
    throw createError('PROTOCOL', 'whoever answered the reconnect could not prove it holds the session key');
  }
  return confirm.next;
}

/** The peer's next message, which must be the rejoin message `type`. */
async function nextRejoin<T extends RejoinMessage['type']>(
  client: RelayClient,
  type: T,
): Promise<Extract<RejoinMessage, { type: T }>> {
  const event = await client.nextEvent();
  const msg = event.type === 'message' ? parseRejoinMessage(event.body) : undefined;
  if (msg?.type !== type) throw createError('PROTOCOL', `expected ${type} from the reconnected peer`);
  return msg as Extract<RejoinMessage, { type: T }>;
}
