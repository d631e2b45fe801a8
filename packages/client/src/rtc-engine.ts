/**
 * The direct path over a W3C RTCPeerConnection (rtc-api.ts): a browser's native WebRTC in the page, speaking exactly
 * what the CLI's werift and libdatachannel engines speak (PROTOCOL.md §6.4): the same sealed offer/answer/candidate/
 * end signals, one ordered reliable channel labelled `portunus`, the same binding MAC, credits and frame-per-message
 * (channel-transport.ts). The constructor is a parameter, so the same code runs in Node on node-datachannel's
 * polyfill.
 *
 * W3C specifics:
 * - ICE servers: only those given; with none, only host candidates (a browser adds no STUN server of its own).
 * - Candidates: the sender holds its own (and its `end`) until the answer is applied, as the CLI's libdatachannel
 *   engine does, for the same reason: libdatachannel (the polyfill) answers ICE checks before its remote
 *   description is committed. Every stack may gather before its description is out (the polyfill does), so no
 *   side sends a candidate before its description. The description sent is `localDescription` without the
 *   candidates it lists once gathering began (the polyfill's does): the peer would learn them before the hold ends.
 * - Max message size: the description the peer gets offers MAX_FRAME_BYTES, as the CLI engines do (the polyfill is
 *   configured so; a browser's 262,144 is raised in the SDP sent, see `advertised`). What a browser sends stays
 *   within its own limit, RTC_SEND_FRAME_BYTES.
 * - Certificates: ours is the one whose SHA-256 our SDP's `a=fingerprint:sha-256` names (the certificate the stack
 *   presents). The peer's: SHA-256 of the DER certificate `RTCDtlsTransport.getRemoteCertificates()` returns, the
 *   one presented in this handshake (browsers implement it). A stack that returns none (the polyfill returns one
 *   empty buffer) gives the peer SDP's `a=fingerprint:sha-256`, which every W3C stack must check the presented
 *   certificate against before the connection opens (RFC 8827 §6.5; libdatachannel does, PROTOCOL.md §6.4).
 */
import {
  createError,
  fromHex,
  FINGERPRINT_BYTES,
  MAX_FRAME_BYTES,
  type IceServer,
  type Signal,
} from '@portunus/protocol';
// Only the hash: the package's `noble` entry would also load @noble/ciphers into every CLI start.
import { nobleSha256 } from '@portunus/protocol/noble-sha256';
import type { Binding } from './channel-transport.js';
import { ChannelTransport } from './channel-transport.js';
import { DATA_CHANNEL_LABEL, directError, runDirectAttempt, type DirectOptions } from './direct-attempt.js';
import type { RtcDataChannel, RtcPeerConnection, RtcPeerConnectionConstructor } from './rtc-api.js';
import { RtcChannel, RtcPeer } from './rtc-channel.js';
import { feedRemoteSignals } from './remote-signals.js';

/**
 * send() waits while more than this is queued in the channel, and wakes when the queue drains to the low-water mark.
 * Chromium's send queue holds at most 16 MiB (send() fails beyond it); 1 MiB, as with libdatachannel, stays far
 * below that. Not tuned yet: 8 MiB each way at once took 6–12 s against either CLI engine on a loaded machine.
 */
const HIGH_WATER_BYTES = 1024 * 1024;
const LOW_WATER_BYTES = 256 * 1024;

export async function connectRtc(
  RTCPeerConnection: RtcPeerConnectionConstructor,
  opts: DirectOptions,
): Promise<ChannelTransport> {
  opts.signal.throwIfAborted();
  let peer: RtcPeer;
  try {
    peer = new RtcPeer(
      new RTCPeerConnection({ iceServers: opts.iceServers.map(rtcIceServer), maxMessageSize: MAX_FRAME_BYTES }),
    );
  } catch (err) {
    throw directError(err);
  }
  const { pc } = peer;
  return runDirectAttempt(
    {
      negotiate: (signal) => new Negotiation(peer, opts, signal),
      onFailure: (fail) =>
        peer.onState((state) => {
          if (state === 'failed')
            fail(createError('DIRECT_FAILED', 'no working route between the two devices (ICE or DTLS failed)'));
          if (state === 'closed') fail(createError('DIRECT_FAILED', 'the direct connection closed while connecting'));
        }),
      fingerprints: () => fingerprints(pc),
      closePeer: async () => pc.close(),
      describe: () => 'WebRTC (RTCPeerConnection)',
    },
    opts,
  );
}

/**
 * The largest frame a page may send on this path: Chromium sends no message over 262,144 bytes (the size its SDP
 * offers), so the page's frames carry at most RTC_SEND_FRAME_BYTES − 29 bytes of data.
 */
export const RTC_SEND_FRAME_BYTES = 262_144;

/** The offer/answer exchange and the candidate pump; send order is kept (a description precedes its candidates). */
class Negotiation {
  readonly channel: Promise<ChannelTransport>;
  readonly failure: Promise<never>;
  private sending: Promise<void> = Promise.resolve();
  private failed!: (err: unknown) => void;
  /** Our candidates and `end`, held until our description is out and (sender) the answer is applied. */
  private held: Signal[] | undefined = [];

  private readonly pc: RtcPeerConnection;

  constructor(
    peer: RtcPeer,
    private readonly opts: DirectOptions,
    private readonly signal: AbortSignal,
  ) {
    const pc = (this.pc = peer.pc);
    this.failure = new Promise<never>((_, reject) => (this.failed = reject));
    this.failure.catch(() => undefined);
    pc.onicecandidate = ({ candidate }) => {
      // A browser ends each generation with an empty candidate, and the whole gathering with null, after every
      // candidate. Not 'icegatheringstatechange': node-datachannel's polyfill reports 'complete' before some of its
      // last candidates (the native callbacks keep no order), and a peer told `end` ignores later candidates. The
      // polyfill never reports null, so it sends no `end`: the peer's ICE goes on with the candidates it has.
      if (candidate === null) return this.sendCandidate({ kind: 'end' });
      if (candidate.candidate === '') return;
      this.sendCandidate({
        kind: 'candidate',
        candidate: candidate.candidate.replace(/^a=/, ''),
        sdpMid: candidate.sdpMid ?? '0',
        sdpMLineIndex: candidate.sdpMLineIndex ?? 0,
      });
    };
    const wrap = (dc: RtcDataChannel) =>
      new ChannelTransport(new RtcChannel(peer, dc), {
        highWaterBytes: HIGH_WATER_BYTES,
        lowWaterBytes: LOW_WATER_BYTES,
      });
    this.channel = new Promise<ChannelTransport>((resolve, reject) => {
      if (opts.role === 'send') return resolve(wrap(pc.createDataChannel(DATA_CHANNEL_LABEL, { ordered: true })));
      pc.ondatachannel = ({ channel }) => {
        pc.ondatachannel = null;
        if (channel.label !== DATA_CHANNEL_LABEL || !channel.ordered)
          return reject(createError('PROTOCOL', 'the peer opened an unexpected data channel'));
        resolve(wrap(channel));
      };
    });
    this.channel.catch(() => undefined);
    this.run().catch((err: unknown) => this.failed(err));
  }

  private async run(): Promise<void> {
    const { pc } = this;
    if (this.opts.role === 'send') {
      const offer = await pc.createOffer();
      await pc.setLocalDescription({ type: 'offer', sdp: sdpOf(offer) });
      this.send({ kind: 'offer', sdp: advertised(sdpOf(pc.localDescription ?? offer)) });
    } else {
      const first = await this.opts.link.nextSignal(this.signal);
      if (first.kind !== 'offer') throw createError('PROTOCOL', `expected a WebRTC offer, got '${first.kind}'`);
      await pc.setRemoteDescription({ type: 'offer', sdp: first.sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription({ type: 'answer', sdp: sdpOf(answer) });
      this.send({ kind: 'answer', sdp: advertised(sdpOf(pc.localDescription ?? answer)) });
      this.release();
    }
    await this.pump();
  }

  /** Feeds the peer's signals to the stack until the attempt is over (the pump then stops on the abort). */
  private pump(): Promise<never> {
    return feedRemoteSignals(this.pc, { ...this.opts, onAnswer: () => this.release() }, this.signal);
  }

  private sendCandidate(signal: Signal): void {
    if (this.held !== undefined) this.held.push(signal);
    else this.send(signal);
  }

  private release(): void {
    for (const held of this.held ?? []) this.send(held);
    this.held = undefined;
  }

  private send(signal: Signal): void {
    if (this.signal.aborted) return;
    this.sending = this.sending.then(() => this.opts.link.sendSignal(signal)).catch((err: unknown) => this.failed(err));
  }
}

function sdpOf(description: { sdp?: string }): string {
  if (description.sdp === undefined || description.sdp === '')
    throw createError('DIRECT_FAILED', 'the WebRTC stack produced no session description');
  return description.sdp;
}

/**
 * Our description as the peer gets it: no candidate lines (they are trickled, see the top), and max-message-size raised to MAX_FRAME_BYTES where the stack offers less. A
 * browser's SDP says 262,144 bytes (Chromium's own send limit, which it also writes as what it accepts), but its
 * SCTP stack takes whole messages far larger: rtc-chromium.test.ts has Chromium receive MAX_FRAME_BYTES frames from
 * both CLI engines. Without this, the CLI engines refuse to send the page any frame over 262,144 bytes, and the
 * CLI's frames are up to 1 MiB + 29. What this side sends stays within the stack's own limit (RTC_SEND_FRAME_BYTES).
 */
function advertised(sdp: string): string {
  const trickled = sdp.replace(/^a=(candidate:|end-of-candidates).*\r?\n/gm, '');
  return trickled.replace(/^a=max-message-size:(\d+)(\r?)$/m, (line, size: string, cr: string) =>
    Number(size) < MAX_FRAME_BYTES ? `a=max-message-size:${MAX_FRAME_BYTES}${cr}` : line,
  );
}

function rtcIceServer(server: IceServer): { urls: string; username?: string; credential?: string } {
  return {
    urls: server.urls,
    ...(server.username === undefined ? {} : { username: server.username }),
    ...(server.credential === undefined ? {} : { credential: server.credential }),
  };
}

/** SHA-256 of our DER certificate (from our SDP) and of the one the peer presented (see the top). */
function fingerprints(pc: RtcPeerConnection): Pick<Binding, 'localFingerprint' | 'remoteFingerprint'> {
  const localFingerprint = sdpFingerprint(pc.localDescription?.sdp);
  const presented = pc.sctp?.transport.getRemoteCertificates?.()[0];
  const remoteFingerprint =
    presented !== undefined && presented.byteLength > 0
      ? sha256(new Uint8Array(presented))
      : sdpFingerprint(pc.remoteDescription?.sdp);
  if (localFingerprint === undefined || remoteFingerprint === undefined)
    throw createError('DIRECT_FAILED', 'DTLS did not expose SHA-256 fingerprints of both certificates');
  return { localFingerprint, remoteFingerprint };
}

/** The one `a=fingerprint:sha-256` of an SDP; undefined when there is none, or more than one. */
export function sdpFingerprint(sdp: string | undefined): Uint8Array | undefined {
  const found = [...(sdp ?? '').matchAll(/^a=fingerprint:sha-256 ([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})*)\r?$/gm)];
  if (found.length !== 1) return undefined;
  const bytes = fromHex(found[0]![1]!.replaceAll(':', ''));
  return bytes.length === FINGERPRINT_BYTES ? bytes : undefined;
}

function sha256(bytes: Uint8Array): Uint8Array {
  const hash = nobleSha256();
  hash.update(bytes);
  return fromHex(hash.digestHex());
}
