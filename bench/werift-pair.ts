/**
 * Two real werift peer connections in this process, joined on loopback by handing each one the other's complete
 * description (no trickle, no STUN), with one open ordered data channel between them; and the few private members
 * of werift's SCTP association that the patch tests (cli/test/transport/werift-patches.test.ts) and the SCTP figures
 * (werift-sctp.ts) reach into. For werift itself; the CLI's own negotiation (webrtc-connect.ts) is covered by
 * webrtc.test.ts.
 */
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { MAX_FRAME_BYTES } from '@portunus/protocol';
import { withTimeout } from '@portunus/client';
import type { Werift } from '../cli/src/transport/werift.js';

/** A hang detector only: connecting on loopback takes well under a second, even on a busy machine. */
const CONNECT_MS = 20_000;

export interface WeriftPair {
  offerer: RTCPeerConnection;
  answerer: RTCPeerConnection;
  /** The offerer's end of the channel, and the answerer's. */
  sending: RTCDataChannel;
  receiving: RTCDataChannel;
  close(): Promise<void>;
}

/** werift's SCTP association, as far as the tests and the figures touch it. */
export interface SctpInternals {
  lastReceivedTsn: number;
  localVerificationTag: number;
  sackMisOrdered: Set<number>;
  sackNeeded: boolean;
  outboundQueue: unknown[];
  /** Fired after every transmission round; `subscribe` is an instance property, so a test can wrap it. */
  flush: { subscribe: (...args: never[]) => unknown };
  markReceived(tsn: number): boolean;
  handleData(packet: Buffer): Promise<void>;
  sendSack(): Promise<void>;
  sendChunk(chunk: { type: number; gaps?: [number, number][] }): Promise<void>;
  receiveDataChunk(chunk: unknown): void;
  onReceive: { subscribe(fn: (streamId: number, ppId: number, data: Buffer) => void): unknown };
  send(streamId: number, ppId: number, data: Buffer): Promise<void>;
  transport: { send(packet: Buffer): Promise<void> };
  timer3Expired: () => void;
}

export const SACK_CHUNK = 3;
export const PPID_BINARY = 53;

/** As the CLI configures werift (webrtc-connect.ts): loopback, no STUN, a whole frame is one message. */
export const WERIFT_LOOPBACK_CONFIG = {
  iceServers: [],
  iceAdditionalHostAddresses: ['127.0.0.1'],
  iceUseIpv6: false,
  maxMessageSize: MAX_FRAME_BYTES,
};

export const sctpOf = (pc: RTCPeerConnection) => pc.sctpTransport!.sctp as unknown as SctpInternals;

export async function connectWeriftPair(werift: Werift): Promise<WeriftPair> {
  const offerer = new werift.RTCPeerConnection(WERIFT_LOOPBACK_CONFIG);
  const answerer = new werift.RTCPeerConnection(WERIFT_LOOPBACK_CONFIG);
  // werift's ICE layer falls back to a public STUN server when given none (see webrtc-connect.ts): clear it.
  const noStun = (pc: RTCPeerConnection) => pc.iceTransports.forEach((t) => (t.connection.stunServer = undefined));
  const close = async () => {
    await Promise.all([offerer.close(), answerer.close()]);
  };
  try {
    const sending = offerer.createDataChannel('werift-test', { ordered: true });
    const received = new Promise<RTCDataChannel>((resolve) => answerer.onDataChannel.subscribe(resolve));
    const offer = await offerer.createOffer();
    noStun(offerer);
    await offerer.setLocalDescription(offer);
    await answerer.setRemoteDescription(offerer.localDescription!);
    noStun(answerer);
    await answerer.setLocalDescription(await answerer.createAnswer());
    await offerer.setRemoteDescription(answerer.localDescription!);
    const receiving = await withTimeout(
      received,
      CONNECT_MS,
      () => new Error('timed out: the answerer to see the data channel'),
    );
    await withTimeout(opened(sending), CONNECT_MS, () => new Error('timed out: the data channel to open'));
    return { offerer, answerer, sending, receiving, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export function opened(dc: RTCDataChannel): Promise<void> {
  if (dc.readyState === 'open') return Promise.resolve();
  return new Promise((resolve) => {
    const { unSubscribe } = dc.stateChanged.subscribe((state) => {
      if (state === 'open') (unSubscribe(), resolve());
    });
  });
}

/** Receives on `dc` until `bytes` have arrived; resolves with the message sizes in arrival order. */
export function receiveBytes(dc: RTCDataChannel, bytes: number): Promise<number[]> {
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

/** Counts the DATA chunks an association receives and the SACKs it sends. */
export function countSacks(sctp: SctpInternals): { data: () => number; sacks: () => number } {
  let data = 0;
  let sacks = 0;
  const receiveDataChunk = sctp.receiveDataChunk.bind(sctp);
  sctp.receiveDataChunk = (chunk) => (data++, receiveDataChunk(chunk));
  const sendChunk = sctp.sendChunk.bind(sctp);
  sctp.sendChunk = (chunk) => (chunk.type === SACK_CHUNK && sacks++, sendChunk(chunk));
  return { data: () => data, sacks: () => sacks };
}

/**
 * Passes the sender's packets through `drop` first: only first transmissions of DATA (type 0 first in the packet,
 * TSN at offset 16) are numbered, from 1; retransmissions and every other packet go through.
 */
export function dropFirstSends(sctp: SctpInternals, drop: (firstSend: number) => boolean): void {
  const send = sctp.transport.send.bind(sctp.transport);
  const seen = new Set<number>();
  sctp.transport.send = async (packet) => {
    const tsn = packet[12] === 0 ? packet.readUInt32BE(16) : undefined;
    const first = tsn !== undefined && !seen.has(tsn) ? seen.add(tsn).size : undefined;
    if (first !== undefined && drop(first)) return;
    return send(packet);
  };
}

/** Counts T3 (retransmission timer) expiries; with `{ act: false }` an expiry is only counted, never acted upon. */
export function countExpiries(sctp: SctpInternals, opts: { act: boolean }): () => number {
  let expiries = 0;
  const expired = sctp.timer3Expired;
  sctp.timer3Expired = () => {
    expiries++;
    if (opts.act) expired();
  };
  return () => expiries;
}
