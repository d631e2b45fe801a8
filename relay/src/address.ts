/**
 * Which client a connection belongs to, for the per-address limits. IPv6 clients usually own a whole /64, so
 * limits key IPv6 addresses by their /64 prefix; IPv4-mapped IPv6 addresses count as the IPv4 address.
 *
 * Behind reverse proxies the socket peer is the nearest proxy. `--trust-proxy` names the proxies whose
 * X-Forwarded-For header counts (PROTOCOL.md §2.6): each proxy appends the address it saw, so the
 * client is found by walking the header from the right, past trusted proxies, to the first address that is not one.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** Longer X-Forwarded-For headers are ignored (the socket peer counts). */
const MAX_FORWARDED_FOR_LENGTH = 4096;

/**
 * The relay's trust-proxy setting: `false` trusts nobody; `true` trusts the socket peer only (one proxy hop: the
 * rightmost entry is the client); a list trusts exactly the peers and hops inside its addresses and CIDR blocks.
 */
export type TrustProxySetting = boolean | readonly string[];

/** Whom to believe: `peer` for the socket peer, `hop` for an address found in X-Forwarded-For. */
export interface ProxyTrust {
  peer(address: string): boolean;
  hop(address: string): boolean;
}

/** Parses one `--trust-proxy` entry (an IPv4/IPv6 address or CIDR block); undefined when malformed. */
function parseProxyEntry(
  entry: string,
): { address: string; prefix: number | undefined; type: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, ...rest] = entry.trim().split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (prefixText === undefined) return { address, prefix: undefined, type };
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  return prefix <= (family === 4 ? 32 : 128) ? { address, prefix, type } : undefined;
}

/** The first malformed entry of a trust-proxy list, if any (for the USAGE error). */
export function invalidProxyEntry(list: readonly string[]): string | undefined {
  return list.find((entry) => parseProxyEntry(entry) === undefined);
}

/** Builds the trust test of a setting (entries must have passed invalidProxyEntry); undefined when off. */
export function proxyTrust(setting: TrustProxySetting): ProxyTrust | undefined {
  if (setting === false) return undefined;
  if (setting === true) return { peer: () => true, hop: () => false };
  const blocks = new BlockList();
  for (const entry of setting) {
    const parsed = parseProxyEntry(entry);
    if (parsed === undefined) continue;
    if (parsed.prefix === undefined) blocks.addAddress(parsed.address, parsed.type);
    else blocks.addSubnet(parsed.address, parsed.prefix, parsed.type);
  }
  // BlockList matches IPv4 rules against IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) too.
  const trusted = (address: string): boolean => {
    const bare = address.split('%')[0]!;
    const family = isIP(bare);
    return family !== 0 && blocks.check(bare, family === 4 ? 'ipv4' : 'ipv6');
  };
  return { peer: trusted, hop: trusted };
}

/** X-Forwarded-For entries, rightmost (nearest proxy's view) first; empty when absent or too long. */
function forwardedFor(req: IncomingMessage): string[] {
  const header = req.headers['x-forwarded-for'];
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === undefined || value.length > MAX_FORWARDED_FOR_LENGTH) return [];
  return value
    .split(',')
    .map((entry) => entry.trim())
    .reverse();
}

/**
 * The client address of an upgrade request: the socket peer, unless it is a trusted proxy; then the rightmost
 * X-Forwarded-For entry that is not itself a trusted proxy. A malformed entry ends the walk at the last proxy.
 */
export function clientAddress(req: IncomingMessage, trust: ProxyTrust | undefined): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (trust === undefined || !trust.peer(peer)) return peer;
  let client = peer;
  for (const entry of forwardedFor(req)) {
    if (isIP(entry) === 0) break;
    client = entry;
    if (!trust.hop(entry)) break;
  }
  return client;
}

/** The key the limits count under: the IPv4 address, or the /64 prefix of an IPv6 address. */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  const groups = expandIpv6(address);
  return groups === undefined ? address : `${groups.slice(0, 4).join(':')}::/64`;
}

/** Eight hex groups of an IPv6 address (zone id dropped), or undefined if it is not plain IPv6 text. */
function expandIpv6(address: string): string[] | undefined {
  const text = address.split('%')[0]!.toLowerCase();
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1]!.split(':') : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4 style) takes two groups; only the first four groups matter here.
  const tailGroups = tail.length > 0 && tail[tail.length - 1]!.includes('.') ? tail.length + 1 : tail.length;
  const missing = halves.length === 2 ? 8 - head.length - tailGroups : 0;
  if (missing < 0) return undefined;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  return groups.map((g) => (g.includes('.') ? g : g.replace(/^0+(?=.)/, '')));
}
