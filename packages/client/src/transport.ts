/**
 * One interface for every path data can take. Encryption sits above it: every transport carries the same sealed
 * frames, so the relay, a WebRTC channel or a TCP socket only ever see ciphertext, and fallback is a plain
 * "first that connects" over a list.
 */
import type { PathKind } from '@portunus/protocol';

export interface Transport {
  readonly kind: PathKind;
  /**
   * Sends one frame (which the caller must not modify afterwards); resolves once the buffer is below its
   * high-water mark. Sends never overlap: each transport is used through one Link (transfer/link.ts), which makes
   * the next call only once the previous one resolved, so a transport need not be re-entrant (WebRTC checks its
   * credit before each send).
   */
  send(frame: Uint8Array): Promise<void>;
  /**
   * Frames from the peer, in order. Ends when the peer closes the data path; throws a PortunusError on failure.
   * Each frame is lent until the consumer asks for the next one (the transport may reuse its memory): copy what
   * must outlive that.
   */
  frames(): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}
