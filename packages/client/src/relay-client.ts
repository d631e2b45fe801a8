/**
 * What a client needs of its relay connection (PROTOCOL.md §2): hello, a nameplate allocated or claimed, opaque
 * peer messages, the data pipe with backpressure both ways. Every failure surfaces as a PortunusError: the relay's
 * `error` message when it sent one, else its close code, else RELAY_UNREACHABLE for a lost connection. The CLI
 * implements it over Node's ws, the page over the browser's WebSocket; both keep peer messages and data frames in
 * separate bounded queues (peer-inbox.ts), so the peer flooding messages nobody reads is a protocol error.
 */
import type { IceServer, PortunusError } from '@portunus/protocol';

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

export interface RelayClient {
  readonly relayName: string;
  readonly motd: string | undefined;
  /** The relay serves the web page at `/` on its port (its welcome said `page: true`), so links to it work. */
  readonly servesPage: boolean;
  /**
   * `seats` > 1: a nameplate with that many seats (PROTOCOL.md §2.4, `send --count`); its token is then `seatToken`,
   * for this client's other connections to `join` with. A relay without seats is RELAY_INCOMPATIBLE.
   */
  allocate(seats?: number): Promise<number>;
  /** The token of this connection's allocation with seats; undefined otherwise. */
  readonly seatToken: string | undefined;
  claim(nameplate: number): Promise<{ side: RelaySide }>;
  /** Instead of allocate/claim: one more seat of an allocation with seats; waits as side "a", as the allocator. */
  join(nameplate: number, token: string): Promise<void>;
  /**
   * Instead of allocate/claim: meets the peer of a confirmed session again under its reconnect id (PROTOCOL.md
   * §2.13); resolves with the `reconnected` sid once the peer presented the same id.
   */
  reconnect(id: Uint8Array): Promise<Uint8Array>;
  /** The relay said the peer's connection was lost without a goodbye (`peer-left` with `lost`): it may come back. */
  readonly peerLost: boolean;
  /** undefined while the connection is open, null once this side closed it, else the error that ended it. */
  readonly endCause: PortunusError | null | undefined;
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
