/**
 * LAN mode's link: the page the sender's embedded relay serves, at an address a neighbour can open, from the same
 * interfaces the announcements leave through (targets.ts `ipv4Interfaces`, so `--bind` narrows it to one).
 */
import type { Ipv4Interface } from './targets.js';

/**
 * `http://<address>:<port>/` for the first interface that is not loopback (a phone cannot reach 127.0.0.1), else
 * the first one (a machine whose only network is loopback, or `--bind 127.0.0.1`); undefined without any.
 * Plain http: the embedded relay has no certificate, so the page runs outside a secure context (no crypto.subtle).
 */
export function lanPageUrl(interfaces: readonly Ipv4Interface[], port: number): string | undefined {
  const chosen = interfaces.find((i) => !i.internal) ?? interfaces[0];
  return chosen === undefined ? undefined : `http://${chosen.address}:${port}/`;
}
