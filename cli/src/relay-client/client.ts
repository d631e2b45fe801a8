/**
 * Connecting to a relay from Node (the RelayClient of @portunus/client over ws, ws-relay-client.ts). Incoming data
 * frames wait in a bounded queue; a full one pauses the socket, so a slow consumer slows the relay, which slows the
 * sender.
 */
import type { RelayClient } from '@portunus/client';
import { WsRelayClient } from './ws-relay-client.js';

export { relayEndpoint } from './endpoint.js';

export interface RelayClientOptions {
  /** ws:// or wss:// (or http://, https://) URL of the relay; a bare host URL (no path) gets RELAY_PATH appended. */
  url: string;
  /** PEM certificates a wss:// relay's certificate may chain to, besides Node's default roots (--ca). */
  ca?: readonly string[];
  /** Sent in hello, e.g. "portunus/0.1.0". */
  agent: string;
  /** Bound on TCP + TLS + upgrade + hello/welcome (default 10 s). */
  connectTimeoutMs?: number;
  /** Aborting closes the connection; pending calls reject. */
  signal?: AbortSignal;
  /**
   * Bytes queued on the socket before sendData waits, and received bytes queued before the socket is paused
   * (default DEFAULT_HIGH_WATER_BYTES, data-inbox.ts).
   */
  highWaterMark?: number;
  /** Largest control message this client sends or accepts (default 1 MiB, the relay's default). */
  maxMessageBytes?: number;
  /** Largest data frame accepted (default 1 MiB, the relay's default). */
  maxFrameBytes?: number;
  /** Peer events held unread before the peer counts as flooding (default 256). */
  maxQueuedMessages?: number;
  /**
   * Keepalive: a relay from which nothing (no pong, no message, no frame) arrived for this long is dropped as
   * unreachable (RELAY_UNREACHABLE); a WebSocket ping goes out every quarter of it. The transfer's stall timeout
   * (default DEFAULT_STALL_TIMEOUT_MS).
   */
  stallTimeoutMs?: number;
  /** Told when the room is paired (true) and when it waits again after `unpaired` (false). */
  onPairing?(paired: boolean): void;
}

export async function connectRelay(opts: RelayClientOptions): Promise<RelayClient> {
  const client = new WsRelayClient(opts);
  await client.handshake();
  return client;
}
