/**
 * The page's way to its peer: a connection to the relay that served it, holding the code's nameplate (allocated
 * for a sender, claimed for a receiver). Cancelling while this runs closes the connection; once it returns, the
 * session tells the peer (as the CLI's rendezvous does, cli/src/lan/rendezvous.ts).
 */
import { connectBrowserRelay, type RelayClient, type RelaySide, scopedSignal } from '@portunus/client';
import type { PageEnv } from './page-env.js';

export interface RelaySession {
  relay: RelayClient;
  nameplate: number;
  side: RelaySide;
}

export async function openRelaySession(
  env: PageEnv,
  nameplate: number | undefined,
  signal: AbortSignal,
): Promise<RelaySession> {
  const connecting = scopedSignal(signal);
  const relay = await connectBrowserRelay({
    url: env.relayUrl,
    WebSocket: env.WebSocket,
    agent: env.settings.agent,
    signal: connecting.signal,
  });
  try {
    if (nameplate === undefined) return { relay, nameplate: await relay.allocate(), side: 'a' };
    return { relay, nameplate, side: (await relay.claim(nameplate)).side };
  } catch (err) {
    await relay.close();
    throw err;
  } finally {
    connecting.release();
  }
}
