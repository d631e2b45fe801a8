/**
 * The werift patch set (patches/README.md), one behaviour per hunk, checked through the loader the CLI uses
 * (loadWerift, the ESM build): each test that can fails on werift 0.24.4 as published. They reach into werift's
 * SCTP association on purpose, through the few private members named in SctpInternals (bench/werift-pair.ts).
 * Nothing here depends on how fast the two ends run: the figures that do (SACKs per packet between real peers,
 * retransmission-timer expiries under loss) are printed by `npm run bench` (bench/werift-sctp.ts).
 */
import type { Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectWeriftPair,
  countExpiries,
  countSacks,
  dropFirstSends,
  opened,
  PPID_BINARY,
  receiveBytes,
  SACK_CHUNK,
  sctpOf,
  WERIFT_LOOPBACK_CONFIG,
  type SctpInternals,
  type WeriftPair,
} from '../../../bench/werift-pair.js';
import { loadWerift, type Werift } from '../../src/transport/werift.js';
import { within } from '@portunus/client/transport-suite';

const KiB = 1024;

let werift: Werift;
let pair: WeriftPair | undefined;

beforeAll(async () => {
  werift = await loadWerift();
});

afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

type SentChunk = { type: number; gaps?: [number, number][]; cumulativeTsn?: number };

/** A fresh association that is never started, for the receive-side bookkeeping alone; it records what it would send. */
function idleAssociation(): SctpInternals & { sent: SentChunk[] } {
  const transport = new werift.RTCSctpTransport();
  transport.setDtlsTransport({ id: 'idle', onStateChange: new werift.Event() } as never);
  const sctp = transport.sctp as unknown as SctpInternals;
  const sent: SentChunk[] = [];
  sctp.sendChunk = async (chunk) => void sent.push(chunk);
  return Object.assign(sctp, { sent });
}

/** An SCTP packet for `sctp` holding one DATA chunk: message `tsn - 1` of stream 1, unfragmented (RFC 9260 §3.3.1). */
function dataPacket(sctp: SctpInternals, tsn: number): Buffer {
  const FIRST_AND_LAST = 3;
  const packet = Buffer.alloc(12 + 16 + 4, 1);
  packet.writeUInt16BE(5000, 0);
  packet.writeUInt16BE(5000, 2);
  packet.writeUInt32BE(sctp.localVerificationTag, 4);
  packet.writeUInt32LE(0, 8);
  packet.writeUInt8(0, 12);
  packet.writeUInt8(FIRST_AND_LAST, 13);
  packet.writeUInt16BE(16 + 4, 14);
  packet.writeUInt32BE(tsn, 16);
  packet.writeUInt16BE(1, 20);
  packet.writeUInt16BE(tsn - 1, 22);
  packet.writeUInt32BE(PPID_BINARY, 24);
  packet.writeUInt32LE(werift.crc32c(packet), 8);
  return packet;
}

const nextLoopTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('patch tsn-sort: received TSNs are ordered as serial numbers', () => {
  it('advances the cumulative TSN across 999999999 → 1000000000 (string order put 1000000000 first)', () => {
    const sctp = idleAssociation();
    sctp.lastReceivedTsn = 999_999_998;
    sctp.markReceived(1_000_000_000);
    sctp.markReceived(999_999_999);
    expect(sctp.lastReceivedTsn).toBe(1_000_000_000);
    expect(sctp.sackMisOrdered.size).toBe(0);
  });

  it('advances the cumulative TSN across the 2^32 wrap', () => {
    const sctp = idleAssociation();
    sctp.lastReceivedTsn = 2 ** 32 - 2;
    sctp.markReceived(0);
    sctp.markReceived(2 ** 32 - 1);
    expect(sctp.lastReceivedTsn).toBe(0);
  });

  it('reports one gap block, in order, for TSNs that straddle a digit boundary or the wrap', async () => {
    for (const last of [999_999_997, 2 ** 32 - 3]) {
      const sctp = idleAssociation();
      sctp.lastReceivedTsn = last;
      sctp.markReceived((last + 2) % 2 ** 32);
      sctp.markReceived((last + 3) % 2 ** 32);
      sctp.sackNeeded = true;
      await sctp.sendSack();
      expect(sctp.sent.map((c) => [c.type, c.gaps])).toEqual([[SACK_CHUNK, [[2, 3]]]]);
    }
  });
});

describe('patch sack-cadence: one SACK per two DATA packets, not one per packet', () => {
  it('acknowledges 10 packets handled back to back with 5 SACKs, and an 11th once the packets at hand are handled', async () => {
    const sctp = idleAssociation();
    sctp.lastReceivedTsn = 0;
    const sacks = () => sctp.sent.filter((c) => c.type === SACK_CHUNK);
    // Awaiting handleData runs only microtasks: all 11 packets are handled within one turn of the event loop, as a
    // burst read from the socket is.
    for (let tsn = 1; tsn <= 10; tsn++) await sctp.handleData(dataPacket(sctp, tsn));
    expect(sacks().map((c) => c.cumulativeTsn)).toEqual([2, 4, 6, 8, 10]);
    await sctp.handleData(dataPacket(sctp, 11));
    expect(sacks()).toHaveLength(5);
    await nextLoopTurn();
    expect(sacks().map((c) => c.cumulativeTsn)).toEqual([2, 4, 6, 8, 10, 11]);
  });
});

describe('patch reassembly-scan: messages still complete whatever order their fragments arrive in', () => {
  const FIRST = 2;
  const LAST = 1;
  /** A DATA chunk as werift parses it: fragment `tsn` of the message numbered `ssn`. */
  const fragment = (tsn: number, ssn: number, flags: number) => ({
    tsn,
    flags,
    streamId: 1,
    streamSeqNum: ssn,
    protocol: PPID_BINARY,
    userData: Buffer.from([tsn]),
  });

  it('delivers two three-fragment messages, in order, from fragments shuffled across both', () => {
    const sctp = idleAssociation();
    sctp.lastReceivedTsn = 0;
    const delivered: number[][] = [];
    sctp.onReceive.subscribe((_stream, _ppId, data) => void delivered.push([...data]));
    const chunks = [
      fragment(1, 0, FIRST),
      fragment(2, 0, 0),
      fragment(3, 0, LAST),
      fragment(4, 1, FIRST),
      fragment(5, 1, 0),
      fragment(6, 1, LAST),
    ];
    // Appended non-last fragments (1, 5) are where the scan is skipped; 3 and 2 fill holes; 6 completes message 1
    // only once 4 came, and message 0 only after 2.
    for (const i of [0, 4, 2, 5, 3, 1]) sctp.receiveDataChunk(chunks[i]);
    expect(delivered).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });
});

describe('werift patches between two real peer connections on loopback', () => {
  it('sack-cadence: a lone packet is acknowledged as soon as the packets at hand are handled, before any timer', async () => {
    pair = await connectWeriftPair(werift);
    const receiver = sctpOf(pair.answerer);
    const order: string[] = [];
    let arrived = false;
    const sendChunk = receiver.sendChunk.bind(receiver);
    receiver.sendChunk = (chunk) => (arrived && chunk.type === SACK_CHUNK && order.push('sack'), sendChunk(chunk));
    // A 0 ms timer set on arrival fires in the next loop turn's timers phase; a SACK queued with setImmediate goes out
    // in this turn's check phase, before it. The 200 ms delayed-SACK timer would come long after.
    const timer = new Promise<void>((resolve) =>
      pair!.receiving.onMessage.subscribe(() => {
        arrived = true;
        setTimeout(() => (order.push('timer'), resolve()), 0);
      }),
    );
    pair.sending.send(Buffer.alloc(100, 1));
    await within(timer, 'the message');
    expect(order).toEqual(['sack', 'timer']);
  });

  it("send-own-fragments: a message's send() resolves before the larger message queued after it is out", async () => {
    pair = await connectWeriftPair(werift);
    const sender = sctpOf(pair.offerer);
    const stream = pair.sending.id!;
    const arrived = receiveBytes(pair.receiving, KiB + 512 * KiB);
    const small = sender.send(stream, PPID_BINARY, Buffer.alloc(KiB, 1));
    // Under the peer's 1 MiB receive window (werift cannot deliver a message larger than that), far over a fresh
    // association's congestion window: most of it is still queued when the small message is out.
    const large = sender.send(stream, PPID_BINARY, Buffer.alloc(512 * KiB, 2));
    await within(small, 'the small message to go out');
    expect(sender.outboundQueue.length).toBeGreaterThan(0);
    await within(large, 'the large message to go out');
    expect(await within(arrived, 'both messages')).toEqual([KiB, 512 * KiB]);
  });

  it('send-own-fragments: 1,000 sends queued at once wait in one queue, none subscribing to every flush', async () => {
    pair = await connectWeriftPair(werift);
    const sender = sctpOf(pair.offerer);
    // A waiting send once took a flush subscription, and again after every flush until its message was out: n
    // queued sends cost O(n²) (bench/werift-sctp.ts's 20 MiB queued at once took over 120 s).
    let subscriptions = 0;
    const subscribe = sender.flush.subscribe;
    sender.flush.subscribe = (...args) => (subscriptions++, subscribe(...args));
    const count = 1000;
    const arrived = receiveBytes(pair.receiving, count * 16 * KiB);
    for (let i = 0; i < count; i++) pair.sending.send(Buffer.alloc(16 * KiB, i));
    expect(await within(arrived, 'every message')).toEqual(Array(count).fill(16 * KiB));
    expect(subscriptions).toBe(0);
  });

  it('retransmit-scan: isolated losses (1 DATA packet in 50) are all repaired by fast retransmit alone, in order', async () => {
    pair = await connectWeriftPair(werift);
    const sizes = Array.from({ length: 64 }, (_, i) => 8 * KiB + i);
    const total = sizes.reduce((a, b) => a + b, 0);
    const sender = sctpOf(pair.offerer);
    // The retransmission timer may still expire on a busy machine; here it resends nothing, so only fast retransmit
    // can repair the losses. ≥ 3 packets follow each loss (the tail is spared): each is reported missing by 3 SACKs.
    countExpiries(sender, { act: false });
    dropFirstSends(sender, (n) => n % 50 === 0 && n < total / 1200 - 50);
    const received: Buffer[] = [];
    const done = new Promise<void>((resolve) => {
      let bytes = 0;
      pair!.receiving.onMessage.subscribe((data) => {
        received.push(data as Buffer);
        if ((bytes += data.length) >= total) resolve();
      });
    });
    sizes.forEach((size, i) => pair!.sending.send(Buffer.alloc(size, i)));
    await within(done, 'every message despite the losses');
    expect(received.map((b) => [b.length, b[0], b[b.length - 1]])).toEqual(sizes.map((size, i) => [size, i, i]));
  });

  it('retransmit-scan: a lost tail, which no SACK can report, is resent when the retransmission timer fires', async () => {
    pair = await connectWeriftPair(werift);
    const total = 1024 * KiB;
    const packetsPerMessage = Math.ceil((64 * KiB) / 1200);
    const sender = sctpOf(pair.offerer);
    const expiries = countExpiries(sender, { act: true });
    // The first transmissions of the last 20 DATA packets are lost; nothing follows them.
    dropFirstSends(sender, (n) => n > 16 * packetsPerMessage - 20);
    const arrived = receiveBytes(pair.receiving, total);
    for (let sent = 0; sent < total; sent += 64 * KiB) pair.sending.send(Buffer.alloc(64 * KiB, 5));
    expect(await within(arrived, 'every message after the lost tail')).toEqual(Array(16).fill(64 * KiB));
    expect(expiries()).toBeGreaterThan(0);
  });

  it('udp-buffers: the sockets ICE binds ask for 4 MiB buffers (the kernel caps them at rmem_max/wmem_max)', async (ctx) => {
    const cap = (name: string) => Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8'));
    const [rmem, wmem] = [cap('rmem_max'), cap('wmem_max')];
    const DEFAULT = 212_992;
    if (rmem <= DEFAULT || wmem <= DEFAULT) {
      console.log(`skipped: net.core.rmem_max=${rmem}, wmem_max=${wmem} cap the buffers at the default size`);
      ctx.skip();
    }
    pair = await connectWeriftPair(werift);
    // The nominated pair's host protocol wraps the UdpTransport that ICE bound.
    const protocol = pair.offerer.iceTransports[0]!.connection.nominated!.protocol as unknown as {
      transport: { socket: Socket };
    };
    const socket = protocol.transport.socket;
    // Linux reports twice the granted size (it counts its bookkeeping): at least the granted size is a fair floor.
    expect(socket.getRecvBufferSize()).toBeGreaterThanOrEqual(Math.min(4 * 1024 * KiB, rmem));
    expect(socket.getSendBufferSize()).toBeGreaterThanOrEqual(Math.min(4 * 1024 * KiB, wmem));
  });
});

describe('patch event-sync', () => {
  it('still runs queued handlers in order, and plain ones at once', async () => {
    const event = new werift.Event<[number]>();
    const seen: string[] = [];
    event.subscribe((n) => void seen.push(`plain ${n}`));
    const queued = new Promise<void>((resolve) =>
      event.queuingSubscribe(async (n) => {
        await Promise.resolve();
        seen.push(`queued ${n}`);
        if (n === 2) resolve();
      }),
    );
    event.execute(1);
    event.execute(2);
    expect(seen).toEqual(['plain 1', 'plain 2']);
    await within(queued, 'the queued handler');
    expect(seen).toEqual(['plain 1', 'plain 2', 'queued 1', 'queued 2']);
  });
});

/** A DTLS ClientHello without a cookie (the first of a handshake, or a retransmission of it): RFC 6347 §4.2.1. */
function isFirstClientHello(packet: Buffer): boolean {
  // record header (13) | handshake header (12): msg_type 1 | client_version (2), random (32), session_id, cookie
  if (packet.length < 61 || packet[0] !== 22 || packet[13] !== 1) return false;
  const sessionIdLength = packet[59]!;
  return packet[60 + sessionIdLength] === 0;
}

describe('patch early-dtls', () => {
  it('keeps a ClientHello that arrives before the DTLS server starts: the handshake completes with no resend of it', async () => {
    // As with libdatachannel answering werift: the answerer (DTLS client) sends its ClientHello before the offerer
    // (DTLS server, ICE-controlling) has started DTLS. Here the offerer's DTLS start waits for that packet, and every
    // resend of it is dropped: unpatched, the first one is lost before anyone listens and the channel never opens.
    const offerer = new werift.RTCPeerConnection(WERIFT_LOOPBACK_CONFIG);
    const answerer = new werift.RTCPeerConnection(WERIFT_LOOPBACK_CONFIG);
    pair = {
      offerer,
      answerer,
      close: async () => void (await Promise.all([offerer.close(), answerer.close()])),
    } as WeriftPair;
    const sending = offerer.createDataChannel('werift-test', { ordered: true });
    const offer = await offerer.createOffer();
    for (const pc of [offerer, answerer]) pc.iceTransports.forEach((t) => (t.connection.stunServer = undefined));
    await offerer.setLocalDescription(offer);
    const connection = offerer.iceTransports[0]!.connection as unknown as {
      protocols: { onDataReceived: { subscribe(fn: (data: Buffer) => void): unknown } }[];
    };
    let sawHello!: () => void;
    const helloArrived = new Promise<void>((resolve) => (sawHello = resolve));
    // A listener on the UDP protocols themselves: below the ICE connection, so it does not count as DTLS listening.
    for (const protocol of connection.protocols) {
      protocol.onDataReceived.subscribe((data) => {
        if (isFirstClientHello(data)) sawHello();
      });
    }
    const dtls = offerer.sctpTransport!.dtlsTransport as unknown as { start(): Promise<void> };
    const start = dtls.start.bind(dtls);
    dtls.start = async () => {
      await within(helloArrived, "the answerer's ClientHello");
      return start();
    };
    await answerer.setRemoteDescription(offerer.localDescription!);
    for (const pc of [offerer, answerer]) pc.iceTransports.forEach((t) => (t.connection.stunServer = undefined));
    // The answerer's DTLS client sends through its ICE connection (werift's IceTransport calls connection.send).
    const client = answerer.iceTransports[0]!.connection as unknown as { send(data: Buffer): Promise<void> };
    const send = client.send.bind(client);
    let hellos = 0;
    client.send = async (data) => {
      if (isFirstClientHello(data) && hellos++ > 0) return;
      return send(data);
    };
    await answerer.setLocalDescription(await answerer.createAnswer());
    await offerer.setRemoteDescription(answerer.localDescription!);
    await within(opened(sending), 'the data channel to open');
    expect(hellos).toBeGreaterThanOrEqual(1);
  });
});
