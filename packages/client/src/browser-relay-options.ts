/**
 * What BrowserRelayClient (browser-relay-client.ts) is built on and from: the part of the W3C WebSocket API it
 * uses, its options, and the bounds it applies where a browser's WebSocket gives no backpressure.
 */
import { RELAY_WINDOW_BYTES } from './window-bytes.js';

/**
 * A handler property that the browser's own WebSocket (whose handlers take its Event types) and the `ws` package's
 * both satisfy: declared as a method, so TypeScript compares its parameter both ways.
 */
type Handler<E> = { handle(event: E): void }['handle'] | null;

/** The part of the W3C WebSocket API this client uses. */
export interface W3CWebSocket {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string | Uint8Array): void;
  close(code?: number): void;
  onopen: Handler<object>;
  onmessage: Handler<{ data: unknown }>;
  onclose: Handler<{ code: number }>;
  onerror: Handler<object>;
}

const MiB = 1024 * 1024;
/** Bytes queued on the socket before sendData waits: four 1 MiB frames, as the CLI's client. */
export const BROWSER_HIGH_WATER_BYTES = 4 * MiB;
/** Received data frames held unread before the peer counts as ignoring its window (see the header). */
export const MAX_QUEUED_DATA_BYTES = 2 * RELAY_WINDOW_BYTES;
/** Longest wait between two looks at `bufferedAmount` while sendData waits (it starts at 1 ms and doubles). */
export const DRAIN_POLL_MS = 16;

export interface BrowserRelayClientOptions {
  /** ws:// or wss:// URL of the relay's endpoint (the page: its own origin + RELAY_PATH). */
  url: string;
  /** The WebSocket constructor: the browser's, or one with the same API. */
  WebSocket: new (url: string) => W3CWebSocket;
  /** Sent in hello, e.g. "portunus-web/0.1.0". */
  agent: string;
  /** Bound on connect + hello/welcome (default 10 s). */
  connectTimeoutMs?: number;
  /** Aborting closes the connection; pending calls reject. */
  signal?: AbortSignal;
  /** Bytes queued on the socket before sendData waits (default BROWSER_HIGH_WATER_BYTES). */
  highWaterMark?: number;
  /** Received data bytes held unread before the connection fails (default MAX_QUEUED_DATA_BYTES). */
  maxQueuedDataBytes?: number;
  /** Largest control message sent or accepted (default 1 MiB, the relay's default). */
  maxMessageBytes?: number;
  /** Largest data frame accepted (default MAX_FRAME_BYTES). */
  maxFrameBytes?: number;
  /** Peer events held unread before the peer counts as flooding (default 256). */
  maxQueuedMessages?: number;
  /**
   * Keepalive: a relay from which nothing (no pong, no message, no frame) arrived for this long is dropped as
   * unreachable (RELAY_UNREACHABLE). The transfer's stall timeout (default DEFAULT_STALL_TIMEOUT_MS).
   */
  stallTimeoutMs?: number;
  onPairing?(paired: boolean): void;
}
