/**
 * Client side of the relay protocol (PROTOCOL.md §2): connect and say hello, allocate or claim a nameplate,
 * exchange opaque peer messages, open the data pipe and move binary frames with backpressure both ways.
 *
 * Every failure surfaces as a PortunusError: the relay's `error` message when it sent one, else its close code
 * (errorCodeForClose), else RELAY_UNREACHABLE for a lost connection. Incoming peer messages and data frames wait in
 * separate bounded queues; a full data queue pauses the socket, so a slow consumer slows the relay, which slows
 * the sender. The peer flooding messages nobody reads is a protocol error (the queue never grows without bound).
 * This file is what the rest of the CLI sees; ws-relay-client.ts is how it is done over a WebSocket.
 */
import type { IceServer, PortunusError } from '@portunus/protocol';
import { WsRelayClient } from './ws-relay-client.js';

export { relayEndpoint } from './endpoint.js';

export type RelaySide = 'a' | 'b';

/** What `paired` tells a client: the session id, its side, and the ICE servers the relay offers (if any). */
export interface Paired {
  sid: Uint8Array;
  side: RelaySide;
  ice?: IceServer[];
}

/**
 * What the relay says about the peer, in the order it said it (PROTOCOL.md §2.4): paired, the peer's messages, and
 * `unpaired` when a peer left before the key exchange completed (a new `paired` may follow).
 */
export type PeerEvent =
  { type: 'paired'; paired: Paired } | { type: 'message'; body: Uint8Array } | { type: 'unpaired' };

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

export interface RelayClient {
  readonly relayName: string;
  readonly motd: string | undefined;
  allocate(): Promise<number>;
  claim(nameplate: number): Promise<{ side: RelaySide }>;
  sendMessage(body: Uint8Array): void;
  /** The next event about the peer; rejects once the connection has closed and no event is left. */
  nextEvent(): Promise<PeerEvent>;
  openPipe(): Promise<void>;
  /**
   * Resolves once the socket's queue is below the high-water mark. The frame is sent without a copy: the caller
   * must not modify it afterwards (sealed frames are fresh buffers, so this holds on the data path).
   */
  sendData(frame: Uint8Array): Promise<void>;
  dataFrames(): AsyncIterable<Uint8Array>;
  /** Bytes of data frames received but not yet consumed: bounded by highWaterMark plus one socket read. */
  readonly queuedDataBytes: number;
  burn(): void;
  reportDone(ok: boolean): void;
  close(): Promise<void>;
  /** Resolves when the connection has closed: undefined after close(), else the error that ended it. */
  readonly closed: Promise<PortunusError | undefined>;
}

export async function connectRelay(opts: RelayClientOptions): Promise<RelayClient> {
  const client = new WsRelayClient(opts);
  await client.handshake();
  return client;
}
