/**
 * Where LAN datagrams go, from a snapshot of the machine's interfaces (os.networkInterfaces(), passed in): IPv4
 * multicast out of every interface, the directed broadcast address of every interface, and on loopback also
 * 127.0.0.1 itself — so that discovery on one machine works even when `lo` is its only interface (CI runners, a
 * laptop offline). Pure: the tests feed made-up interface tables.
 */
import type { NetworkInterfaceInfo } from 'node:os';

/** The administratively scoped (RFC 2365, IPv4 Local Scope) group the announcements are sent to. */
export const LAN_GROUP = '239.255.47.47';
/** UDP port of LAN discovery (the relay's TCP default is 4747 too; UDP and TCP ports do not clash). */
export const LAN_PORT = 4747;
/** Interfaces considered, so a machine with hundreds of virtual interfaces does not make a datagram storm. */
export const MAX_LAN_INTERFACES = 16;

export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

export interface Ipv4Interface {
  address: string;
  netmask: string;
  internal: boolean;
}

export type SendTarget =
  /** To the group, leaving through the interface with this address. */
  { kind: 'multicast'; via: string } | { kind: 'broadcast'; address: string } | { kind: 'unicast'; address: string };

const WILDCARD = '0.0.0.0';

/** IPv4 interfaces, limited to the one holding `bind` unless it is the wildcard address. */
export function ipv4Interfaces(table: InterfaceTable, bind = WILDCARD): Ipv4Interface[] {
  const out: Ipv4Interface[] = [];
  for (const infos of Object.values(table)) {
    for (const info of infos ?? []) {
      if (info.family !== 'IPv4') continue;
      if (bind !== WILDCARD && info.address !== bind) continue;
      if (out.length < MAX_LAN_INTERFACES)
        out.push({ address: info.address, netmask: info.netmask, internal: info.internal });
    }
  }
  return out;
}

/** Every destination one round of announcements goes to (deduplicated, in a stable order). */
export function sendTargets(interfaces: readonly Ipv4Interface[]): SendTarget[] {
  const targets: SendTarget[] = [];
  const seen = new Set<string>();
  const add = (t: SendTarget) => {
    const key = t.kind === 'multicast' ? `m ${t.via}` : `${t.kind} ${t.address}`;
    if (!seen.has(key)) (seen.add(key), targets.push(t));
  };
  for (const iface of interfaces) {
    add({ kind: 'multicast', via: iface.address });
    const broadcast = directedBroadcast(iface.address, iface.netmask);
    if (broadcast !== undefined) add({ kind: 'broadcast', address: broadcast });
    // Unicast loopback reaches one local listener only, but works where loopback has no broadcast (macOS).
    if (iface.internal && iface.address.startsWith('127.')) add({ kind: 'unicast', address: '127.0.0.1' });
  }
  return targets;
}

/** `address | ~netmask`, or undefined where a subnet has no broadcast address (/31, /32) or the input is odd. */
export function directedBroadcast(address: string, netmask: string): string | undefined {
  const a = ipv4ToInt(address);
  const m = ipv4ToInt(netmask);
  if (a === undefined || m === undefined) return undefined;
  const hostBits = ~m >>> 0;
  if (hostBits < 3) return undefined;
  return intToIpv4((a | hostBits) >>> 0);
}

function ipv4ToInt(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
