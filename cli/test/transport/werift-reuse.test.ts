/**
 * Why the sender may read its next chunk into a frame werift still holds (frame-pool.ts): werift keeps views of a
 * message's memory for its own retransmissions until the SCTP SACK, but the receiver acknowledges a frame only once
 * it has the whole message, so whatever werift resends of it afterwards carries TSNs the receiving SCTP already has,
 * and those are dropped unread. Here the receiver's SACKs are lost until the sender's retransmission timer resends a
 * message whose memory was overwritten after the receiver had it: the receiver gets the message once, intact, and
 * nothing else but what is sent next. Through the CLI's own loader (loadWerift, the patched ESM build).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectWeriftPair, sctpOf, type WeriftPair } from '../../../bench/werift-pair.js';
import { loadWerift, type Werift } from '../../src/transport/werift.js';
import { within } from '@portunus/client/transport-suite';

const KiB = 1024;
/** An SCTP packet whose first chunk is DATA (RFC 9260 §3.3.1): its TSN, and where its user data starts. */
const DATA_CHUNK = 0;
const TSN_AT = 16;
const USER_DATA_AT = 28;

let werift: Werift;
let pair: WeriftPair | undefined;

beforeAll(async () => {
  werift = await loadWerift();
});

afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

describe('werift: a message overwritten once the receiver has it', () => {
  it('is resent by the retransmission timer and dropped as a duplicate: delivered once, as first sent', async () => {
    pair = await connectWeriftPair(werift);
    const sender = sctpOf(pair.offerer);
    const receiver = sctpOf(pair.answerer);

    // Once the receiver has the message, its packets (SACKs: it sends no data) are lost until the sender resends.
    let sacksLost = false;
    const receiverSend = receiver.transport.send.bind(receiver.transport);
    receiver.transport.send = async (packet) => (sacksLost ? undefined : receiverSend(packet));
    const seen = new Set<number>();
    let overwritten = false;
    const resentBytes: number[] = [];
    let resent!: () => void;
    const firstResend = new Promise<void>((resolve) => (resent = resolve));
    const senderSend = sender.transport.send.bind(sender.transport);
    sender.transport.send = async (packet) => {
      if (packet[12] === DATA_CHUNK) {
        const tsn = packet.readUInt32BE(TSN_AT);
        if (seen.has(tsn) && overwritten) {
          resentBytes.push(packet[USER_DATA_AT]!);
          sacksLost = false;
          resent();
        }
        seen.add(tsn);
      }
      return senderSend(packet);
    };

    const received: Buffer[] = [];
    let arrived!: () => void;
    let expected = 1;
    const arrivals = () => new Promise<void>((resolve) => (arrived = resolve));
    let arrival = arrivals();
    pair.receiving.onMessage.subscribe((data) => {
      received.push(Buffer.from(data as Buffer));
      if (received.length === 1) sacksLost = true;
      if (received.length >= expected) arrived();
    });

    const memory = new ArrayBuffer(64 * KiB); // ~55 DATA chunks, each a view of this memory in werift's sent queue
    new Uint8Array(memory).fill(0xaa);
    void pair.sending.send(Buffer.from(memory));
    await within(arrival, 'the message');
    new Uint8Array(memory).fill(0x55); // what the frame pool does once the receiver acknowledges the frame
    overwritten = true;
    await within(firstResend, 'a resend by the retransmission timer (the SACKs are lost)');

    expected = 2;
    arrival = arrivals();
    void pair.sending.send(Buffer.alloc(KiB, 0x77));
    await within(arrival, 'the next message');
    expect(resentBytes.length).toBeGreaterThan(0);
    expect(resentBytes.every((byte) => byte === 0x55)).toBe(true); // werift resent the overwritten memory
    expect(received.map((b) => [b.length, b.every((byte) => byte === b[0]), b[0]])).toEqual([
      [64 * KiB, true, 0xaa],
      [KiB, true, 0x77],
    ]);
  });
});
