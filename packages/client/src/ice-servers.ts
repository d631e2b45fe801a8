/**
 * ICE servers for the direct path: this side's own (the CLI's --ice-server) and those a relay offers in `paired`.
 * None by default: then only host candidates are gathered, and nothing but the peer learns of the attempt.
 */
import type { IceServer } from '@portunus/protocol';

/**
 * Merges lists in priority order (the user's --ice-server first, then the relay's), dropping duplicates. werift uses
 * the first STUN and the first TURN server of the result.
 */
export function mergeIceServers(...lists: readonly (readonly IceServer[])[]): IceServer[] {
  const seen = new Set<string>();
  const out: IceServer[] = [];
  for (const server of lists.flat()) {
    const key = `${server.urls}\n${server.username ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(server);
  }
  return out;
}

/** The ICE servers a relay offered in `paired`, when the relay client passes them on. */
export function advertisedIce(paired: { sid: Uint8Array; ice?: readonly IceServer[] }): readonly IceServer[] {
  return paired.ice ?? [];
}
