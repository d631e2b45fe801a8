/**
 * SHA-256 of a whole data stream, fed chunk by chunk: what both sides compare at the end of a transfer (the
 * sender's `sent` claim against the receiver's own count, PROTOCOL.md §4). Like the AEAD (aead.ts) this is only the
 * interface: Node supplies `nodeSha256` (node:crypto), browsers `nobleSha256` (WebCrypto has no incremental hash).
 */
export interface Sha256 {
  update(data: Uint8Array): void;
  /** An independent hash in the same state: a resume (PROTOCOL.md §4.12) digests a prefix and hashes on. */
  copy(): Sha256;
  /** The digest as 64 lowercase hex digits; the hash is finished afterwards. */
  digestHex(): string;
}

export type Sha256Factory = () => Sha256;
