/**
 * Which client a connection belongs to, for the per-address limits. IPv6 clients usually own a whole /64, so
 * limits key IPv6 addresses by their /64 prefix; IPv4-mapped IPv6 addresses count as the IPv4 address.
 */
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** The client address of an upgrade request: the socket peer, or behind a trusted proxy the last XFF entry. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (!trustProxy) return peer;
  const header = req.headers['x-forwarded-for'];
  const value = Array.isArray(header) ? header[header.length - 1] : header;
  if (value === undefined || value.length > 4096) return peer;
  // The proxy appends the address it saw; entries before it are whatever the client chose to send.
  const last = value.slice(value.lastIndexOf(',') + 1).trim();
  return isIP(last) !== 0 ? last : peer;
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
