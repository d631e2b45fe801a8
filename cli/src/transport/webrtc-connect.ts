/**
 * Establishes the direct path (PROTOCOL.md §6.4): loads werift only now (its import costs ~450 ms), trades
 * sealed signals with the peer through the session (path-signals.ts), waits for the data channel and binds it to the session. The
 * sender makes the offer and the channel; the receiver answers. Candidates trickle both ways.
 *
 * werift specifics: no default STUN server (its built-in one is replaced by the given list, possibly empty);
 * loopback is offered as an extra host address, so two processes on one machine connect; both sides raise
 * max-message-size so a frame of up to 1 MiB + 29 bytes is one message.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { createError, MAX_FRAME_BYTES, type IceServer, type Signal } from '@portunus/protocol';
import {
  DATA_CHANNEL_LABEL,
  feedRemoteSignals,
  runDirectAttempt,
  type ChannelTransport,
  type DirectOptions,
} from '@portunus/client';
import { connectLibDataChannel } from './ndc-connect.js';
import { closePeer, WebRtcTransport } from './webrtc.js';
import { loadWebRtcEngine, parseEngineChoice, WEBRTC_ENGINE_ENV, type WebRtcEngineChoice } from './webrtc-engine.js';
import { loadWerift } from './werift.js';

const DEFAULT_HOST_ADDRESSES = ['127.0.0.1'];

/** The Node engines' options beside what every direct attempt takes. */
export interface WebRtcOptions extends DirectOptions {
  /** Host addresses offered beside the interfaces' own (default: loopback). */
  hostAddresses?: readonly string[];
  /** Which WebRTC stack (webrtc-engine.ts); default: env PORTUNUS_WEBRTC_ENGINE, else auto. */
  engine?: WebRtcEngineChoice;
}

export async function connectWebRtc(opts: WebRtcOptions): Promise<WebRtcTransport | ChannelTransport> {
  opts.signal.throwIfAborted();
  const engine = await loadWebRtcEngine(opts.engine ?? parseEngineChoice(process.env[WEBRTC_ENGINE_ENV]), opts);
  if (engine.name === 'libdatachannel') return connectLibDataChannel(engine.runtime, opts);
  const { RTCPeerConnection } = await loadWerift();
  opts.signal.throwIfAborted();
  const pc = new RTCPeerConnection({
    iceServers: opts.iceServers.map((server) => ({ ...server })),
    iceAdditionalHostAddresses: [...(opts.hostAddresses ?? DEFAULT_HOST_ADDRESSES)],
    maxMessageSize: MAX_FRAME_BYTES,
  });
  return runDirectAttempt(
    {
      negotiate: (signal) => new Negotiation(pc, opts, signal),
      onFailure: (fail) =>
        pc.connectionStateChange.subscribe((state) => {
          if (state === 'failed')
            fail(createError('DIRECT_FAILED', 'no working route between the two computers (ICE failed)'));
        }).unSubscribe,
      fingerprints: () => fingerprints(pc),
      closePeer: () => closePeer(pc),
      describe: () => 'werift',
    },
    opts,
  );
}

/** The offer/answer exchange and the candidate pump; send order is kept (the offer precedes its candidates). */
class Negotiation {
  /** The channel, wrapped the moment it exists. */
  readonly channel: Promise<WebRtcTransport>;
  /** Rejects with the first error of the exchange (a bad signal, werift refusing a description, a failed send). */
  readonly failure: Promise<never>;
  private sending: Promise<void> = Promise.resolve();
  private failed!: (err: unknown) => void;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly opts: WebRtcOptions,
    private readonly signal: AbortSignal,
  ) {
    pc.onIceCandidate.subscribe((c) => {
      if (c?.candidate)
        this.send({
          kind: 'candidate',
          candidate: c.candidate,
          sdpMid: c.sdpMid ?? '0',
          sdpMLineIndex: c.sdpMLineIndex ?? 0,
        });
    });
    this.failure = new Promise<never>((_, reject) => (this.failed = reject));
    this.failure.catch(() => undefined);
    this.channel = new Promise<WebRtcTransport>((resolve, reject) => {
      if (opts.role === 'send')
        return resolve(new WebRtcTransport(pc, pc.createDataChannel(DATA_CHANNEL_LABEL, { ordered: true })));
      const { unSubscribe } = pc.onDataChannel.subscribe((dc: RTCDataChannel) => {
        unSubscribe();
        if (dc.label !== DATA_CHANNEL_LABEL || !dc.ordered)
          return reject(createError('PROTOCOL', 'the peer opened an unexpected data channel'));
        resolve(new WebRtcTransport(pc, dc));
      });
    });
    this.channel.catch(() => undefined);
    this.run().catch((err: unknown) => this.failed(err));
  }

  private async run(): Promise<void> {
    const { pc } = this;
    if (this.opts.role === 'send') {
      const offer = await pc.createOffer();
      withoutDefaultStun(pc, this.opts.iceServers);
      this.send({ kind: 'offer', sdp: offer.sdp });
      this.gather(pc.setLocalDescription(offer));
    } else {
      const first = await this.opts.link.nextSignal(this.signal);
      if (first.kind !== 'offer') throw createError('PROTOCOL', `expected a WebRTC offer, got '${first.kind}'`);
      await pc.setRemoteDescription({ type: 'offer', sdp: first.sdp });
      withoutDefaultStun(pc, this.opts.iceServers);
      const answer = await pc.createAnswer();
      this.send({ kind: 'answer', sdp: answer.sdp });
      this.gather(pc.setLocalDescription(answer));
    }
    await this.pump();
  }

  /** setLocalDescription resolves once gathering is complete: then the peer may stop waiting for candidates. */
  private gather(done: Promise<unknown>): void {
    done.then(
      () => this.send({ kind: 'end' }),
      (err: unknown) => this.failed(err),
    );
  }

  /** Feeds the peer's signals to werift until the attempt is over (the pump then stops on the abort). */
  private pump(): Promise<never> {
    return feedRemoteSignals(this.pc, this.opts, this.signal);
  }

  private send(signal: Signal): void {
    if (this.signal.aborted) return;
    this.sending = this.sending.then(() => this.opts.link.sendSignal(signal)).catch((err: unknown) => this.failed(err));
  }
}

/**
 * werift's ICE layer asks stun.l.google.com whenever it is given no STUN server (the peer connection's own default
 * is replaced by our list, but the ICE connection below has a second one). Without a configured STUN server it
 * must gather host (and TURN) candidates only, so this clears it before gathering starts.
 */
function withoutDefaultStun(pc: RTCPeerConnection, iceServers: readonly IceServer[]): void {
  if (iceServers.some((server) => server.urls.startsWith('stun'))) return;
  for (const transport of pc.iceTransports) transport.connection.stunServer = undefined;
}

/** SHA-256 of our DER certificate and of the one the peer presented in this DTLS handshake. */
function fingerprints(pc: RTCPeerConnection): { localFingerprint: Uint8Array; remoteFingerprint: Uint8Array } {
  const dtls = pc.sctpTransport?.dtlsTransport;
  const pem = dtls?.localCertificate?.certPem;
  const remote = dtls?.dtls?.remoteCertificate;
  if (pem === undefined || remote === undefined)
    throw createError('DIRECT_FAILED', 'DTLS did not expose its certificates');
  const sha256 = (der: Uint8Array) => new Uint8Array(createHash('sha256').update(der).digest());
  return { localFingerprint: sha256(new X509Certificate(pem).raw), remoteFingerprint: sha256(remote) };
}
