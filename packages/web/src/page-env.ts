/**
 * What a page transfer needs from its surroundings, passed in (no module globals): the relay's address and the
 * WebSocket to reach it, the crypto backends, randomness, the clock, the direct paths this browser can open, the
 * settings. main.ts fills it from the browser; tests of single modules may fill it otherwise.
 */
import type { AeadFactory, DataAeadFactory, PathKind, RandomBytes, Sha256Factory } from '@portunus/protocol';
import type { DirectConnectors, Paired, W3CWebSocket } from '@portunus/client';
import type { Fetch } from './drop/drop-api.js';
import type { PageSettings } from './page-settings.js';

export interface PageEnv {
  settings: PageSettings;
  /** ws:// or wss:// URL of the relay (relay-address.ts). */
  relayUrl: string;
  WebSocket: new (url: string) => W3CWebSocket;
  /** The relay's HTTP origin (the page's own) and fetch to reach it: the drop API (drop/drop-api.ts). */
  origin: string;
  fetch: Fetch;
  /** The session's AEAD (key confirmation, the sealed offer, signals): synchronous, @noble's in the page. */
  aead: AeadFactory;
  /** The data plane's: WebCrypto in a secure context, else @noble's (aead.webcrypto.ts pageDataAead). */
  dataAead: DataAeadFactory;
  sha256: Sha256Factory;
  random: RandomBytes;
  now(): number;
  /** The direct paths for one session, given what the relay said in `paired` (its ICE servers). */
  connectors(paired: Paired): DirectConnectors;
  debug(message: string): void;
}

/** What a transfer shows while the data moves. */
export interface ProgressView {
  progress(bytes: number, total: number | undefined): void;
  /** The data now moves over `path`. */
  path(path: PathKind): void;
}
