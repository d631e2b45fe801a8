/**
 * Control messages on a direct data channel (PROTOCOL.md §6.4). Data frames (§5.1) travel as binary
 * messages; these travel as text messages beside them:
 *
 *   binding {"type":"binding","mac":"<base64url, 32 bytes>"}   first message each way (binding.ts)
 *   credit  {"type":"credit","bytes":N}                        N = frame bytes consumed so far (cumulative)
 *
 * Flow control: a side sends a frame only while the frame bytes it has sent, this frame included, exceed the
 * peer's last credit by at most DIRECT_WINDOW_BYTES; a receiver that gets more than that fails the transfer. A
 * WebRTC stack hands every message over as soon as it arrives and cannot be paused, so without credits a reader
 * slower than the network (a full disk, a paused pipe) would have to buffer the whole file.
 */
import { fromUtf8, toBase64Url } from './bytes.js';
import { BINDING_MAC_BYTES } from './binding.js';
import { asBytes, asInteger, parseJsonObject } from './validate.js';

export type ChannelMessage = { type: 'binding'; mac: Uint8Array } | { type: 'credit'; bytes: number };

/** Frame bytes a side may have in flight beyond the peer's last credit. */
export const DIRECT_WINDOW_BYTES = 4 * 1024 * 1024;
const MAX_CHANNEL_MESSAGE = 256;

export function encodeChannelMessage(msg: ChannelMessage): string {
  return msg.type === 'binding'
    ? JSON.stringify({ type: msg.type, mac: toBase64Url(msg.mac) })
    : JSON.stringify({ type: msg.type, bytes: msg.bytes });
}

/** Parses one text message from the channel; undefined for anything malformed, oversized or unknown. */
export function parseChannelMessage(text: string | Uint8Array): ChannelMessage | undefined {
  const s = typeof text === 'string' ? text : fromUtf8(text);
  if (s === undefined || s.length > MAX_CHANNEL_MESSAGE) return undefined;
  const o = parseJsonObject(s);
  if (o?.type === 'binding') {
    const mac = asBytes(o.mac, { exact: BINDING_MAC_BYTES });
    return mac === undefined ? undefined : { type: 'binding', mac };
  }
  if (o?.type === 'credit') {
    const bytes = asInteger(o.bytes, 0, Number.MAX_SAFE_INTEGER);
    return bytes === undefined ? undefined : { type: 'credit', bytes };
  }
  return undefined;
}
