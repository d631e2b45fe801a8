/** Relay URLs as users give them: ws:// or wss://, and a bare host:port gets the protocol's versioned path. */
import { createError, RELAY_PATH } from '../protocol.js';

export function relayEndpoint(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw createError('USAGE', `not a relay URL: ${url.slice(0, 200)}`, { hint: 'A relay URL looks like ws://host:4747.' });
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw createError('USAGE', `relay URL must start with ws:// or wss://`, { hint: 'A relay URL looks like ws://host:4747.' });
  }
  if (parsed.pathname === '' || parsed.pathname === '/') parsed.pathname = RELAY_PATH;
  return parsed;
}
