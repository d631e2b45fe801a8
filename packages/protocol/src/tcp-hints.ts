/**
 * Where a side listens for a direct TCP connection (PROTOCOL.md §6.3 "Hints"): the body of its one `tcp-v1` signal,
 * sealed like every session message, so only the peer learns these addresses.
 */
import { asInteger, asObject, asString } from './validate.js';

/** One address a peer listens on for a direct TCP connection: an IPv4 or IPv6 literal (never a name) and a port. */
export interface TcpHint {
  host: string;
  port: number;
}
/** Hints one side may give: loopback plus a few interfaces; more is refused, not truncated. */
export const MAX_TCP_HINTS = 16;

/**
 * The body of a `tcp-v1` signal (`{"hints":[…]}`): at most MAX_TCP_HINTS entries, each an IP literal (no names, no
 * zone ids) and a port 1..65535. More is refused, not truncated; unknown fields are ignored.
 */
export function parseTcpHints(body: unknown): TcpHint[] | undefined {
  const value = asObject(body)?.hints;
  if (!Array.isArray(value) || value.length > MAX_TCP_HINTS) return undefined;
  const hints: TcpHint[] = [];
  for (const item of value) {
    const o = asObject(item);
    const host = o === undefined ? undefined : asString(o.host, 45);
    const port = o === undefined ? undefined : asInteger(o.port, 1, 65535);
    if (host === undefined || port === undefined || !isIpLiteral(host)) return undefined;
    hints.push({ host, port });
  }
  return hints;
}

/** The body of a `tcp-v1` signal for `hints`, in its canonical form (golden tests pin it). */
export function encodeTcpHints(hints: readonly TcpHint[]): { hints: TcpHint[] } {
  return { hints: hints.map((h) => ({ host: h.host, port: h.port })) };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

/** An IPv4 dotted quad or an RFC 4291 IPv6 text address (with `::` and an embedded IPv4 tail), nothing else. */
export function isIpLiteral(host: string): boolean {
  if (IPV4.test(host)) return true;
  if (!host.includes(':') || host.length > 45) return false;
  const halves = host.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const all = [...groups(halves[0]!), ...groups(halves[1] ?? '')];
  const last = all[all.length - 1];
  const v4tail = last !== undefined && IPV4.test(last);
  const hextets = v4tail ? all.slice(0, -1) : all;
  if (!hextets.every((g) => HEXTET.test(g))) return false;
  const width = hextets.length + (v4tail ? 2 : 0);
  return halves.length === 2 ? width <= 7 : width === 8;
}
