/**
 * A drop's id and key (PROTOCOL.md §11.1), both HKDF-SHA-256 (RFC 5869) of the normalized drop code with an empty
 * salt: the id (16 bytes, shown as 32 lowercase hex digits) is all the relay ever sees; the key (32 bytes) seals
 * every stored frame (drop-format.ts). The code carries 140 bits, so neither can be searched from the other.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from './bytes.js';
import { normalizeDropCode, type DropCode } from './drop-code.js';
import { asKey, KEY_BYTES, type Key } from './keys.js';
import { PROTOCOL_LABEL } from './version.js';

/** The HKDF labels, as they appear after "portunus/1 " in the info string. */
export const DROP_LABELS = { id: 'drop id', key: 'drop key' } as const;
export const DROP_ID_BYTES = 16;

export interface DropKeys {
  /** 32 lowercase hex digits: the drop's name on the relay. */
  id: string;
  key: Key<'drop'>;
}

function expand(code: DropCode, label: string, length: number): Uint8Array {
  return hkdf(sha256, utf8(normalizeDropCode(code)), new Uint8Array(0), utf8(`${PROTOCOL_LABEL} ${label}`), length);
}

export function deriveDropKeys(code: DropCode): DropKeys {
  return {
    id: toHex(expand(code, DROP_LABELS.id, DROP_ID_BYTES)),
    key: asKey('drop', expand(code, DROP_LABELS.key, KEY_BYTES)),
  };
}

/** Whether `text` has the shape of a drop id: 32 lowercase hex digits. */
export function isDropId(text: string): boolean {
  return /^[0-9a-f]{32}$/.test(text);
}
