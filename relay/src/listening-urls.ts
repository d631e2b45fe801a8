/**
 * The URLs a client can use to reach a relay, for its start-up line. A relay bound to a wildcard address
 * (0.0.0.0, ::) is reachable on every interface, so it names each non-internal interface address plus 127.0.0.1;
 * a relay bound to one address names that one. URLs are bare `ws://host:port`: clients add the `/v1` path.
 */
import type { NetworkInterfaceInfo } from 'node:os';

export type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

const WILDCARDS = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0', '']);

function url(address: string, port: number): string {
  return `ws://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/**
 * Usable URLs for a relay listening on `host`:`port`. On `::` (dual-stack) IPv6 addresses are named too, except
 * link-local ones, which a URL cannot name without the caller's zone.
 */
export function listeningUrls(host: string, port: number, interfaces: Interfaces): string[] {
  if (!WILDCARDS.has(host)) return [url(host, port)];
  const ipv6 = host !== '0.0.0.0';
  const addresses: string[] = [];
  for (const list of Object.values(interfaces)) {
    for (const info of list ?? []) {
      if (info.internal) continue;
      if (info.family === 'IPv4' || (ipv6 && info.family === 'IPv6' && !/^fe[89ab]/i.test(info.address)))
        addresses.push(info.address);
    }
  }
  return [...new Set([...addresses, '127.0.0.1'])].map((address) => url(address, port));
}
