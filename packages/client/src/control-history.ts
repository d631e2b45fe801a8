/**
 * The sealed control messages this side sent (PROTOCOL.md §4.1, stream 0), kept so that after a reconnect (§2.13)
 * it can send again whatever the peer says it lacks: a message on its way through a relay that died is lost with it,
 * and the peer's session opens only consecutive indexes. Bounded: a session sends a few dozen (the offer, the answer,
 * signals, receipts); beyond the bounds the oldest are forgotten, and a peer that still lacks one cannot be helped.
 */
import { CONTROL_STREAM, createError, parseFrameHeader, PortunusError } from '@portunus/protocol';

/** Messages kept: more than a session sends (signals are at most MAX_PEER_SIGNALS = 128). */
export const MAX_KEPT_CONTROL = 256;
/** Their bytes: a text offer may be 512 KiB, everything else is small. */
export const MAX_KEPT_CONTROL_BYTES = 4 * 1024 * 1024;

export class ControlHistory {
  private kept: { index: number; body: Uint8Array }[] = [];
  private bytes = 0;
  /** The highest index forgotten for room (-1: none). */
  private forgotten = -1;

  /** Keeps `body` if it is a sealed control message (the clear handshake messages are never sent again). */
  record(body: Uint8Array): void {
    const header = parseFrameHeader(body);
    if (header instanceof PortunusError || header.streamId !== CONTROL_STREAM) return;
    this.kept.push({ index: header.index, body });
    this.bytes += body.length;
    while (this.kept.length > MAX_KEPT_CONTROL || this.bytes > MAX_KEPT_CONTROL_BYTES) {
      const old = this.kept.shift()!;
      this.bytes -= old.body.length;
      this.forgotten = Math.max(this.forgotten, old.index);
    }
  }

  /** Every kept message from index `next` on, in order; the ones before it are the peer's and are dropped. */
  from(next: number): Uint8Array[] {
    if (this.forgotten >= next) throw createError('INTERRUPTED', 'control messages the other side lacks were dropped');
    const rest = this.kept.filter((m) => m.index >= next);
    this.bytes = rest.reduce((sum, m) => sum + m.body.length, 0);
    this.kept = rest;
    return rest.map((m) => m.body);
  }

  /** A new pairing starts a new session: its messages count from 0 again. */
  clear(): void {
    this.kept = [];
    this.bytes = 0;
    this.forgotten = -1;
  }
}
