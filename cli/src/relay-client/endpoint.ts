/**
 * Relay URLs as users give them: ws:// or wss://, or http:// and https:// meaning the same (a relay behind a TLS
 * proxy is usually given by its https:// address); a bare host:port gets the protocol's versioned path.
 */
import { createError } from '@portunus/protocol/errors';
import { RELAY_PATH } from '@portunus/protocol/version';

const HINT = 'A relay URL looks like ws://host:4747 or wss://relay.example.org (https:// works too).';
const WEBSOCKET_SCHEME: Readonly<Record<string, string>> = {
  'ws:': 'ws:',
  'wss:': 'wss:',
  'http:': 'ws:',
  'https:': 'wss:',
};

export function relayEndpoint(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw createError('USAGE', `not a relay URL: ${url.slice(0, 200)}`, { hint: HINT });
  }
  const scheme = WEBSOCKET_SCHEME[parsed.protocol];
  if (scheme === undefined)
    throw createError('USAGE', 'relay URL must start with ws://, wss://, http:// or https://', { hint: HINT });
  parsed.protocol = scheme; // http and ws (https and wss) share their default port, so the port is kept
  if (parsed.pathname === '' || parsed.pathname === '/') parsed.pathname = RELAY_PATH;
  return parsed;
}
