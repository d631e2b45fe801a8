/**
 * The werift patch set (patches/README.md), one behaviour per hunk, checked through the loader the CLI uses
 * (loadWerift, the ESM build): each test that can fails on werift 0.24.4 as published. They reach into werift's
 * SCTP association on purpose, through the few private members named in SctpInternals.
 */
import type { Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadWerift, type Werift } from '../../src/transport/werift.js';
import { within } from './transport-suite.js';
import { connectWeriftPair, WERIFT_TEST_CONFIG, type WeriftPair } from './werift-pair.js';

/** werift's SCTP association, as far as these tests touch it. */
interface SctpInternals {
  lastReceivedTsn: number;
  sackMisOrdered: Set<number>;
  sackNeeded: boolean;
  outboundQueue: unknown[];
  markReceived(tsn: number): boolean;
  sendSack(): Promise<void>;
  sendChunk(chunk: { type: number; gaps?: [number, number][] }): Promise<void>;
  receiveDataChunk(chunk: unknown): void;
  onReceive: { subscribe(fn: (streamId: number, ppId: number, data: Buffer) => void): unknown };
  send(streamId: number, ppId: number, data: Buffer): Promise<void>;
  transport: { send(packet: Buffer): Promise<void> };
  timer3Expired: () => void;
}

const SACK_CHUNK = 3;
const PPID_BINARY = 53;
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

const sctpOf = (pc: WeriftPair['offerer']) => pc.sctpTransport!.sctp as unknown as SctpInternals;

/** A fresh association that is never started, for the receive-side bookkeeping alone. */
function idleAssociation(): SctpInternals & { sent: { type: number; gaps?: [number, number][] }[] } {
  const transport = new werift.RTCSctpTransport();
  transport.setDtlsTransport({ id: 'idle', onStateChange: new werift.Event() } as never);
  const sctp = transport.sctp as unknown as SctpInternals;
  const sent: { type: number; gaps?: [number, number][] }[] = [];
  sctp.sendChunk = async (chunk) => void sent.push(chunk);
  return Object.assign(sctp, { sent });
}

/** Receives on `dc` until `bytes` have arrived; resolves with the message sizes in arrival order. */
function receiveBytes(dc: WeriftPair['receiving'], bytes: number): Promise<number[]> {
  const sizes: number[] = [];
  let total = 0;
  return new Promise((resolve) => {
    const { unSubscribe } = dc.onMessage.subscribe((data) => {
      sizes.push(data.length);
      total += data.length;
      if (total >= bytes) (unSubscribe(), resolve(sizes));
    });
  });
}

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
    const chunks = [fragment(1, 0, FIRST), fragment(2, 0, 0), fragment(3, 0, LAST), fragment(4, 1, FIRST), fragment(5, 1, 0), fragment(6, 1, LAST)];
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
  it('sack-cadence: the receiver sends about one SACK per two DATA packets, not one per packet', async () => {
    pair = await connectWeriftPair(werift);
    const receiver = sctpOf(pair.answerer);
    let data = 0;
    let sacks = 0;
    const receiveDataChunk = receiver.receiveDataChunk.bind(receiver);
    receiver.receiveDataChunk = (chunk) => (data++, receiveDataChunk(chunk));
    const sendChunk = receiver.sendChunk.bind(receiver);
    receiver.sendChunk = (chunk) => (chunk.type === SACK_CHUNK && sacks++, sendChunk(chunk));

    const total = 2048 * KiB;
    const arrived = receiveBytes(pair.receiving, total);
    for (let sent = 0; sent < total; sent += 16 * KiB) pair.sending.send(Buffer.alloc(16 * KiB, 7));
    await within(arrived, '2 MiB through the channel');

    expect(data).toBeGreaterThan(1700); // 2 MiB in ≤ 1200-byte chunks
    expect(sacks).toBeGreaterThan(0);
    expect(sacks / data).toBeLessThan(0.6);
  });

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

  /** Counts T3 (retransmission timer) expiries, and passes the sender's packets through `drop` first. */
  function lossy(sctp: SctpInternals, drop: (firstSend: number) => boolean): { expiries: () => number } {
    let expiries = 0;
    const expired = sctp.timer3Expired;
    sctp.timer3Expired = () => (expiries++, expired());
    const send = sctp.transport.send.bind(sctp.transport);
    const seen = new Set<number>();
    // Only first transmissions of DATA (type 0 first in the packet, TSN at offset 16) are numbered; retransmissions
    // and every other packet go through.
    sctp.transport.send = async (packet) => {
      const tsn = packet[12] === 0 ? packet.readUInt32BE(16) : undefined;
      const first = tsn !== undefined && !seen.has(tsn) ? seen.add(tsn).size : undefined;
      if (first !== undefined && drop(first)) return;
      return send(packet);
    };
    return { expiries: () => expiries };
  }

  it('retransmit-scan: isolated losses (1 DATA packet in 50) are all repaired by fast retransmit, in order', async () => {
    pair = await connectWeriftPair(werift);
    const sizes = Array.from({ length: 64 }, (_, i) => 8 * KiB + i);
    const total = sizes.reduce((a, b) => a + b, 0);
    // ≥ 3 packets follow each loss (the tail is spared), so each is reported missing by three SACKs.
    const timer = lossy(sctpOf(pair.offerer), (n) => n % 50 === 0 && n < total / 1200 - 50);
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
    expect(timer.expiries()).toBe(0);
  });

  it('retransmit-scan: a lost tail, which no SACK can report, is resent when the retransmission timer fires', async () => {
    pair = await connectWeriftPair(werift);
    const total = 1024 * KiB;
    const packetsPerMessage = Math.ceil((64 * KiB) / 1200);
    // The first transmissions of the last 20 DATA packets are lost; nothing follows them.
    const timer = lossy(sctpOf(pair.offerer), (n) => n > 16 * packetsPerMessage - 20);
    const arrived = receiveBytes(pair.receiving, total);
    for (let sent = 0; sent < total; sent += 64 * KiB) pair.sending.send(Buffer.alloc(64 * KiB, 5));
    expect(await within(arrived, 'every message after the lost tail')).toEqual(Array(16).fill(64 * KiB));
    expect(timer.expiries()).toBeGreaterThan(0);
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
    const protocol = pair.offerer.iceTransports[0]!.connection.nominated!.protocol as unknown as { transport: { socket: Socket } };
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
  it('keeps a ClientHello that arrives before the DTLS server starts, so the client never has to resend it', async () => {
    // As with libdatachannel answering werift: the answerer (DTLS client) sends its ClientHello before the offerer
    // (DTLS server, ICE-controlling) has started DTLS. Here the offerer's DTLS start waits for that packet.
    const offerer = new werift.RTCPeerConnection(WERIFT_TEST_CONFIG);
    const answerer = new werift.RTCPeerConnection(WERIFT_TEST_CONFIG);
    pair = { offerer, answerer, close: async () => void (await Promise.all([offerer.close(), answerer.close()])) } as WeriftPair;
    const sending = offerer.createDataChannel('werift-test', { ordered: true });
    const offer = await offerer.createOffer();
    for (const pc of [offerer, answerer]) pc.iceTransports.forEach((t) => (t.connection.stunServer = undefined));
    await offerer.setLocalDescription(offer);
    const connection = offerer.iceTransports[0]!.connection as unknown as { protocols: { onDataReceived: { subscribe(fn: (data: Buffer) => void): unknown } }[] };
    let firstHellos = 0;
    let sawHello!: () => void;
    const helloArrived = new Promise<void>((resolve) => (sawHello = resolve));
    // A listener on the UDP protocols themselves: below the ICE connection, so it does not count as DTLS listening.
    for (const protocol of connection.protocols) {
      protocol.onDataReceived.subscribe((data) => {
        if (isFirstClientHello(data)) (firstHellos++, sawHello());
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
    await answerer.setLocalDescription(await answerer.createAnswer());
    await offerer.setRemoteDescription(answerer.localDescription!);
    await within(
      new Promise<void>((resolve) => {
        if (sending.readyState === 'open') return resolve();
        sending.stateChanged.subscribe((state) => state === 'open' && resolve());
      }),
      'the data channel to open',
    );
    // Unpatched, the first ClientHello is dropped and werift's client resends it 500 ms later: two.
    expect(firstHellos).toBe(1);
  });
});
