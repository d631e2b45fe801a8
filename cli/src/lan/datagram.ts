/**
 * LAN discovery datagrams (PROTOCOL.md §7.2). Fixed 16 bytes, big-endian:
 *
 *   0  8  magic  "portunus" (ASCII)
 *   8  1  kind   1 = announce (a sender's relay is waiting), 2 = query (a receiver is looking)
 *   9  1  protocol version (PROTOCOL_VERSION)
 *  10  2  relay TCP port (announce: 1..65535; query: 0)
 *  12  4  nameplate (1..MAX_NAMEPLATE)
 *
 * Only public rendezvous data travels here: never the secret, never a key. Parsing is total: anything that is not
 * exactly a well-formed datagram of a supported version is `undefined`, and callers drop it silently (must-ignore:
 * a later version may add kinds or grow the datagram; such datagrams are not ours to interpret).
 */
import { MAX_NAMEPLATE, SUPPORTED_VERSIONS } from '@portunus/protocol';

export const LAN_MAGIC = 'portunus';
export const LAN_DATAGRAM_BYTES = 16;

export type LanDatagram =
  | { kind: 'announce'; version: number; nameplate: number; port: number }
  | { kind: 'query'; version: number; nameplate: number };

const KIND_BYTE = { announce: 1, query: 2 } as const;

export function encodeLanDatagram(d: LanDatagram): Uint8Array {
  const port = d.kind === 'announce' ? d.port : 0;
  if (!Number.isInteger(d.nameplate) || d.nameplate < 1 || d.nameplate > MAX_NAMEPLATE)
    throw new RangeError('nameplate out of range');
  if (d.kind === 'announce' && (!Number.isInteger(port) || port < 1 || port > 65535))
    throw new RangeError('port out of range');
  if (!Number.isInteger(d.version) || d.version < 0 || d.version > 255) throw new RangeError('version out of range');
  const out = new Uint8Array(LAN_DATAGRAM_BYTES);
  for (let i = 0; i < LAN_MAGIC.length; i++) out[i] = LAN_MAGIC.charCodeAt(i);
  const view = new DataView(out.buffer);
  view.setUint8(8, KIND_BYTE[d.kind]);
  view.setUint8(9, d.version);
  view.setUint16(10, port);
  view.setUint32(12, d.nameplate);
  return out;
}

/** The datagram, or undefined for anything malformed, of another kind or of an unsupported version. */
export function parseLanDatagram(bytes: Uint8Array): LanDatagram | undefined {
  if (bytes.length !== LAN_DATAGRAM_BYTES) return undefined;
  for (let i = 0; i < LAN_MAGIC.length; i++) if (bytes[i] !== LAN_MAGIC.charCodeAt(i)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = view.getUint8(8);
  const version = view.getUint8(9);
  const port = view.getUint16(10);
  const nameplate = view.getUint32(12);
  if (!SUPPORTED_VERSIONS.includes(version)) return undefined;
  if (nameplate < 1 || nameplate > MAX_NAMEPLATE) return undefined;
  if (kind === KIND_BYTE.announce) return port === 0 ? undefined : { kind: 'announce', version, nameplate, port };
  if (kind === KIND_BYTE.query) return port !== 0 ? undefined : { kind: 'query', version, nameplate };
  return undefined;
}
