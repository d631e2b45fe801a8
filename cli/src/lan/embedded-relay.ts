/**
 * The relay a LAN-mode sender runs inside its own process: the same code as `portunus relay`, on an ephemeral
 * port, with limits sized for one transfer (a neighbour on the LAN can open connections to it too).
 */
import { createError } from '@portunus/protocol';
import type { Logger, LogFields, RelayHandle } from '@portunus/relay';

export interface EmbeddedRelayOptions {
  /** IPv4 address to listen on ('0.0.0.0': every interface). */
  bind: string;
  /** How long the sender waits for its receiver: the nameplate must not expire sooner. */
  waitMs: number;
  debug: (message: string) => void;
}

/** Relay name sent in `welcome` (and so bound into the PAKE): distinct from a standalone relay's default. */
export const EMBEDDED_RELAY_NAME = 'portunus-lan';
/** Time the receiver gets to finish once the sender is done (it has everything by then; this covers its goodbye). */
export const EMBEDDED_CLOSE_GRACE_MS = 2000;

const MAX_TTL_MS = 7 * 24 * 3600 * 1000;

export async function startEmbeddedRelay(opts: EmbeddedRelayOptions): Promise<RelayHandle> {
  // Loaded here, in LAN mode only: the relay server (ws server, prom-client) is ~10 MB of RSS and ~30 ms of start
  // that `send`/`receive` through a configured relay never use.
  const { startRelay } = await import('@portunus/relay');
  try {
    return await startRelay(
      {
        host: opts.bind,
        port: 0,
        name: EMBEDDED_RELAY_NAME,
        // One transfer: the sender, its receiver, and room for a few guessers and retries.
        maxConnections: 32,
        maxConnectionsPerIp: 8,
        maxNameplates: 32,
        nameplateTtlMs: Math.min(MAX_TTL_MS, opts.waitMs + 60_000),
        processMetrics: false,
      },
      { logger: debugLogger(opts.debug) },
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRNOTAVAIL' || code === 'EADDRINUSE' || code === 'EACCES') {
      throw createError('USAGE', `cannot listen on ${opts.bind}: ${code}`, {
        hint: 'Pass --bind with an IPv4 address of this machine (or leave it out to listen on every interface).',
        cause: err,
      });
    }
    throw err;
  }
}

/** The relay's log lines, shown with --verbose (its fields never carry nameplates or payloads, by its policy). */
function debugLogger(debug: (message: string) => void): Logger {
  const line = (event: string, fields: LogFields = {}) => {
    const parts = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${String(v)}`);
    debug(`embedded relay: ${event}${parts.length > 0 ? ` ${parts.join(' ')}` : ''}`);
  };
  return { debug: line, info: line, warn: line, error: line };
}
