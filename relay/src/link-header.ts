/**
 * The header by which one relay instance proves to another that a WebSocket is a link carrying its client's
 * connection (PROTOCOL.md §12), and whose address that client has: `x-portunus-link: v1.<instance>.<ms>.<address
 * base64url>.<HMAC-SHA256 hex>`, the HMAC over `v1|instance|ms|address` under the secret the instances share in
 * Redis. Whoever can read that Redis is inside the trust boundary anyway. A header more than MAX_SKEW_MS away from
 * the receiver's clock is refused, so a header seen on the wire is good for that long at most.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export const LINK_HEADER = 'x-portunus-link';
export const MAX_SKEW_MS = 30_000;

export function signLink(secret: Buffer, instance: string, address: string, now: number): string {
  const time = String(Math.floor(now));
  const mac = createHmac('sha256', secret).update(`v1|${instance}|${time}|${address}`).digest('hex');
  return `v1.${instance}.${time}.${Buffer.from(address).toString('base64url')}.${mac}`;
}

/** The client's address the header vouches for, or undefined for a header that is malformed, stale or forged. */
export function verifyLink(secret: Buffer, header: string, now: number): string | undefined {
  const parts = header.split('.');
  if (parts.length !== 5 || parts[0] !== 'v1') return undefined;
  const [, instance, time, encoded, mac] = parts as [string, string, string, string, string];
  if (!/^[0-9a-f]{32}$/.test(instance) || !/^\d{1,15}$/.test(time) || !/^[0-9a-f]{64}$/.test(mac)) return undefined;
  if (Math.abs(now - Number(time)) > MAX_SKEW_MS) return undefined;
  const address = Buffer.from(encoded, 'base64url').toString();
  if (isIP(address) === 0) return undefined;
  const expected = createHmac('sha256', secret).update(`v1|${instance}|${time}|${address}`).digest();
  return timingSafeEqual(expected, Buffer.from(mac, 'hex')) ? address : undefined;
}
