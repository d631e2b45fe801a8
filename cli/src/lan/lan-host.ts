/**
 * LAN mode, sending side: start the embedded relay, connect our own client to it, take a nameplate, and announce
 * `{nameplate, port}` on the local network until a receiver pairs (or we stop). The announcement is all a LAN
 * neighbour learns; whoever connects still has to prove knowledge of the secret through the PAKE.
 */
import { type RelayClient, type RelaySide } from '@portunus/client';
import type { RandomBytes } from '@portunus/protocol';
import { connectRelay } from '../relay-client/client.js';
import type { RelayHandle } from '@portunus/relay';
import { startAnnouncer, type Announcer } from './announcer.js';
import { EMBEDDED_CLOSE_GRACE_MS, startEmbeddedRelay } from './embedded-relay.js';
import { lanPageUrl } from './lan-page-url.js';
import type { LanSettings } from './lan-settings.js';
import { ipv4Interfaces } from './targets.js';

/** LAN nameplates are drawn at random (there is no shared allocator); four digits keep collisions between senders on one network rare. */
export const MAX_LAN_NAMEPLATE = 9999;

export interface LanHostOptions {
  lan: LanSettings;
  agent: string;
  signal: AbortSignal;
  random: RandomBytes;
  /** How long the sender will wait for a receiver. */
  waitMs: number;
  /** A pre-agreed nameplate (from --code / PORTUNUS_CODE). */
  nameplate?: number;
  debug: (message: string) => void;
}

export interface LanHost {
  client: RelayClient;
  nameplate: number;
  side: RelaySide;
  relayPort: number;
  /** `http://<LAN address>:<relay port>/` when the embedded relay serves the page (lan-page-url.ts). */
  pageUrl?: string;
  close(): Promise<void>;
}

export async function hostLan(opts: LanHostOptions): Promise<LanHost> {
  const relay = await startEmbeddedRelay({ bind: opts.lan.bind, waitMs: opts.waitMs, debug: opts.debug });
  let client: RelayClient | undefined;
  let announcer: Announcer | undefined;
  let closed = false;
  try {
    const host = opts.lan.bind === '0.0.0.0' ? '127.0.0.1' : opts.lan.bind;
    const nameplate = opts.nameplate ?? randomNameplate(opts.random);
    const interfaces = () => ipv4Interfaces(opts.lan.interfaces(), opts.lan.bind);
    const announce = () =>
      startAnnouncer({
        nameplate,
        relayPort: relay.port,
        port: opts.lan.port,
        group: opts.lan.group,
        interfaces,
        debug: opts.debug,
      });
    // Once paired, nobody else may join this nameplate anyway: keep the network quiet. A receiver that leaves
    // before the key exchange completed frees the room again (`unpaired`): announce again for the next one.
    const onPairing = (paired: boolean): void => {
      if (paired) void announcer?.stop();
      else if (!closed)
        void announce().then(
          (a) => (closed ? void a.stop() : (announcer = a)),
          () => undefined,
        );
    };
    client = await connectRelay({
      url: `ws://${host}:${relay.port}`,
      agent: opts.agent,
      signal: opts.signal,
      onPairing,
    });
    const { side } = await client.claim(nameplate);
    announcer = await announce();
    void client.closed.then(() => announcer?.stop());
    opts.debug(`LAN: embedded relay on port ${relay.port}, announcing on UDP ${opts.lan.port}`);
    const close = closer(relay, client, () => announcer);
    const pageUrl = client.servesPage ? lanPageUrl(interfaces(), relay.port) : undefined;
    return { client, nameplate, side, relayPort: relay.port, pageUrl, close: () => ((closed = true), close()) };
  } catch (err) {
    closed = true;
    await closer(relay, client, () => announcer)();
    throw err;
  }
}

function closer(
  relay: RelayHandle,
  client: RelayClient | undefined,
  announcer: () => Announcer | undefined,
): () => Promise<void> {
  return async () => {
    await announcer()?.stop();
    await client?.close();
    await relay.close(EMBEDDED_CLOSE_GRACE_MS);
  };
}

/** Uniform in 1..MAX_LAN_NAMEPLATE (rejection sampling over 16 bits, so no value is favoured). */
export function randomNameplate(random: RandomBytes): number {
  const limit = 65536 - (65536 % MAX_LAN_NAMEPLATE);
  for (;;) {
    const b = random(2);
    const n = (b[0]! << 8) | b[1]!;
    if (n < limit) return (n % MAX_LAN_NAMEPLATE) + 1;
  }
}
