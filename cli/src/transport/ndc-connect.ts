/**
 * The direct path over libdatachannel (node-datachannel), speaking exactly what the werift engine speaks
 * (PROTOCOL.md §6.4): the same sealed offer/answer/candidate/end signals, one ordered reliable channel labelled
 * `portunus`, max-message-size MAX_FRAME_BYTES, the same binding MAC, credits and frame-per-message
 * (channel-transport.ts). Either side may run either engine.
 *
 * libdatachannel specifics:
 * - ICE servers: only those given (it has no default of its own), so with none only host candidates are gathered.
 * - Loopback: it gathers the interfaces' addresses on one socket bound to the wildcard address, so 127.0.0.1 on the
 *   same port reaches it too; that candidate is announced beside the gathered ones, as werift announces its own.
 * - Certificates: our fingerprint is the one in our SDP (SHA-256 of the DER certificate it generated and presents).
 *   The peer's is `remoteFingerprint()`, which libdatachannel records from the certificate the peer actually
 *   presented in the DTLS handshake (PeerConnection::checkFingerprint stores it before comparing it with the SDP's
 *   `a=fingerprint:sha-256`, and refuses the handshake on a mismatch): the binding MAC is computed over that.
 * - A channel the peer opens carries no `ordered` flag in this binding; an unordered one could only come from a
 *   peer that breaks the protocol, and would be caught by the frame counters (§5.1) at the first reordering.
 */
import {
  createError,
  FINGERPRINT_BYTES,
  MAX_FRAME_BYTES,
  type IceServer as PortunusIceServer,
  type Signal,
} from '@portunus/protocol';
import type { DataChannel, IceServer as NdcIceServer } from 'node-datachannel';
import { ChannelTransport, DATA_CHANNEL_LABEL, directError, runDirectAttempt } from '@portunus/client';
import { NdcChannel, NdcPeer } from './ndc-channel.js';
import type { WebRtcOptions } from './webrtc-connect.js';
import type { NativeRuntime } from './webrtc-engine.js';

/**
 * send() waits while more than this is queued in libdatachannel, and wakes when the queue drains to the low-water
 * mark. Unlike werift it does not slow down with more queued: on loopback (200 MB, 256 KiB frames) 256 KiB, 1 MiB
 * and 4 MiB were within the machine's noise (49–71 MB/s); 1 MiB keeps the queue small and the link busy.
 */
const HIGH_WATER_BYTES = 1024 * 1024;
const LOW_WATER_BYTES = 512 * 1024;
/** Below every gathered host candidate, so a real interface is preferred where both work. */
const LOOPBACK_PRIORITY = (126 << 24) + (0 << 8) + 255;

export async function connectLibDataChannel(runtime: NativeRuntime, opts: WebRtcOptions): Promise<ChannelTransport> {
  opts.signal.throwIfAborted();
  const release = runtime.lease();
  let peer: NdcPeer;
  try {
    const config = { iceServers: opts.iceServers.flatMap(ndcIceServer), maxMessageSize: MAX_FRAME_BYTES };
    peer = new NdcPeer(new runtime.ndc.PeerConnection('portunus', config), release);
  } catch (err) {
    release();
    throw directError(err);
  }
  return runDirectAttempt(
    {
      negotiate: (signal) => new Negotiation(peer, opts, signal),
      onFailure: (fail) =>
        peer.onState((state) => {
          if (state === 'failed')
            fail(createError('DIRECT_FAILED', 'no working route between the two computers (ICE failed)'));
          if (state === 'closed') fail(createError('DIRECT_FAILED', 'the direct connection closed while connecting'));
        }),
      fingerprints: () => fingerprints(peer),
      closePeer: () => peer.close(),
      describe: () => {
        const pair = peer.pc.getSelectedCandidatePair();
        const route =
          pair === null
            ? ''
            : `: ${pair.local.address}:${pair.local.port} (${pair.local.type}) ↔ ${pair.remote.address}:${pair.remote.port} (${pair.remote.type})`;
        return `libdatachannel${route}`;
      },
    },
    opts,
  );
}

/** The offer/answer exchange and the candidate pump; send order is kept (the offer precedes its candidates). */
class Negotiation {
  readonly channel: Promise<ChannelTransport>;
  readonly failure: Promise<never>;
  private sending: Promise<void> = Promise.resolve();
  private failed!: (err: unknown) => void;
  private loopbackSent = false;
  /**
   * The sender's own candidates (and its `end`), held until the answer is applied. libdatachannel 0.24 answers ICE
   * checks before its remote description is committed, so a receiver that already knew our candidates could
   * connect and start DTLS in that window, and the fingerprint check then fails for want of the answer (seen in
   * about one loopback attempt in five). Without our candidates the peer cannot reach us before we reach it.
   */
  private held: Signal[] | undefined;

  constructor(
    private readonly peer: NdcPeer,
    private readonly opts: WebRtcOptions,
    private readonly signal: AbortSignal,
  ) {
    const { pc } = peer;
    if (opts.role === 'send') this.held = [];
    this.failure = new Promise<never>((_, reject) => (this.failed = reject));
    this.failure.catch(() => undefined);
    // Every callback is in place before anything can fire it (the channel's creation starts the negotiation).
    pc.onLocalDescription((sdp, type) => {
      if (type === 'offer' || type === 'answer') this.send({ kind: type, sdp });
    });
    pc.onLocalCandidate((candidate, mid) => this.onLocalCandidate(candidate, mid));
    pc.onGatheringStateChange((state) => {
      if (state === 'complete') this.sendCandidate({ kind: 'end' });
    });
    const wrap = (dc: DataChannel) =>
      new ChannelTransport(new NdcChannel(peer, dc), {
        highWaterBytes: HIGH_WATER_BYTES,
        lowWaterBytes: LOW_WATER_BYTES,
      });
    this.channel = new Promise<ChannelTransport>((resolve, reject) => {
      if (opts.role === 'send') return resolve(wrap(pc.createDataChannel(DATA_CHANNEL_LABEL, { unordered: false })));
      pc.onDataChannel((dc) => {
        if (dc.getLabel() !== DATA_CHANNEL_LABEL)
          return reject(createError('PROTOCOL', 'the peer opened an unexpected data channel'));
        resolve(wrap(dc));
      });
    });
    this.channel.catch(() => undefined);
    this.run().catch((err: unknown) => this.failed(err));
  }

  private async run(): Promise<void> {
    if (this.opts.role === 'receive') {
      const first = await this.opts.link.nextSignal(this.signal);
      if (first.kind !== 'offer') throw createError('PROTOCOL', `expected a WebRTC offer, got '${first.kind}'`);
      // The answer follows by itself (libdatachannel's automatic negotiation), through onLocalDescription.
      this.peer.pc.setRemoteDescription(first.sdp, 'offer');
    }
    await this.pump();
  }

  /** Feeds the peer's signals to libdatachannel until the attempt is over (the pump then stops on the abort). */
  private async pump(): Promise<void> {
    let described = this.opts.role === 'receive';
    for (;;) {
      const s: Signal = await this.opts.link.nextSignal(this.signal);
      if (s.kind === 'answer' && !described && this.opts.role === 'send') {
        described = true;
        this.peer.pc.setRemoteDescription(s.sdp, 'answer');
        for (const held of this.held ?? []) this.send(held);
        this.held = undefined;
      } else if (s.kind === 'candidate' && described) {
        // A candidate libdatachannel cannot use is no reason to give up on the others.
        try {
          this.peer.pc.addRemoteCandidate(s.candidate, s.sdpMid);
        } catch (err) {
          this.opts.debug?.(`candidate ignored: ${String(err)}`);
        }
      } else if (s.kind !== 'end' || !described) {
        throw createError('PROTOCOL', `unexpected WebRTC signal '${s.kind}'`);
      }
    }
  }

  /** Trickles a gathered candidate, and once the loopback twin of the first UDP host candidate (see the top). */
  private onLocalCandidate(line: string, mid: string): void {
    const candidate = line.replace(/^a=/, '');
    this.sendCandidate({ kind: 'candidate', candidate, sdpMid: mid, sdpMLineIndex: 0 });
    const host = /^candidate:\S+ 1 UDP \d+ \S+ (\d+) typ host/i.exec(candidate);
    if (host === null || this.loopbackSent) return;
    this.loopbackSent = true;
    const loopback = `candidate:9 1 UDP ${LOOPBACK_PRIORITY} 127.0.0.1 ${host[1]} typ host`;
    this.sendCandidate({ kind: 'candidate', candidate: loopback, sdpMid: mid, sdpMLineIndex: 0 });
  }

  private sendCandidate(signal: Signal): void {
    if (this.held !== undefined) this.held.push(signal);
    else this.send(signal);
  }

  private send(signal: Signal): void {
    if (this.signal.aborted) return;
    this.sending = this.sending.then(() => this.opts.link.sendSignal(signal)).catch((err: unknown) => this.failed(err));
  }
}

/** `stun:host[:port]`, `turn[s]:host[:port][?transport=udp|tcp]` (validated by parseIceServer) in the binding's form. */
function ndcIceServer(server: PortunusIceServer): NdcIceServer[] {
  const m = /^(stuns?|turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/.exec(server.urls);
  if (m === null) return [];
  const [, scheme, host, port, transport] = m as unknown as [
    string,
    string,
    string,
    string | undefined,
    string | undefined,
  ];
  const hostname = host.replace(/^\[(.*)\]$/, '$1');
  const portNumber = port === undefined ? (scheme === 'turns' || scheme === 'stuns' ? 5349 : 3478) : Number(port);
  if (!scheme.startsWith('turn')) return [{ hostname, port: portNumber }];
  const relayType = scheme === 'turns' ? 'TurnTls' : transport === 'tcp' ? 'TurnTcp' : 'TurnUdp';
  return [
    { hostname, port: portNumber, username: server.username ?? '', password: server.credential ?? '', relayType },
  ];
}

/** SHA-256 of our DER certificate (from our SDP) and of the one the peer presented in this DTLS handshake. */
function fingerprints(peer: NdcPeer): { localFingerprint: Uint8Array; remoteFingerprint: Uint8Array } {
  const local = /^a=fingerprint:sha-256 ([0-9A-Fa-f:]+)\r?$/m.exec(peer.pc.localDescription()?.sdp ?? '')?.[1];
  const remote = peer.pc.remoteFingerprint();
  const localFingerprint = local === undefined ? undefined : fromColonHex(local);
  const remoteFingerprint = remote.algorithm === 'sha-256' ? fromColonHex(remote.value) : undefined;
  if (localFingerprint === undefined || remoteFingerprint === undefined) {
    throw createError('DIRECT_FAILED', 'DTLS did not expose SHA-256 fingerprints of both certificates');
  }
  return { localFingerprint, remoteFingerprint };
}

function fromColonHex(text: string): Uint8Array | undefined {
  if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})*$/.test(text)) return undefined;
  const bytes = new Uint8Array(Buffer.from(text.replaceAll(':', ''), 'hex'));
  return bytes.length === FINGERPRINT_BYTES ? bytes : undefined;
}
