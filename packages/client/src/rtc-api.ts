/**
 * The part of the W3C WebRTC API (https://www.w3.org/TR/webrtc/) the RTC engine uses, written out so the client
 * core compiles without the DOM library and takes its RTCPeerConnection as a parameter: a browser's native one in
 * the page, node-datachannel's polyfill (a W3C RTCPeerConnection over libdatachannel) in Node tests. Events are
 * taken through the `on…` handler properties, which every implementation has.
 */

/**
 * An event handler property. Declared as a method so its parameter is compared both ways (TypeScript's method
 * bivariance): the DOM's handlers take the DOM's event types, which this file does not know, and those are
 * assignable to the shapes below.
 */
export type RtcHandler<E> = { handle(event: E): void }['handle'] | null;

export interface RtcIceServer {
  urls: string;
  username?: string;
  credential?: string;
}

export interface RtcConfiguration {
  iceServers: RtcIceServer[];
  /**
   * Not W3C: libdatachannel (node-datachannel's polyfill) reads it and offers it as the SDP max-message-size; a
   * browser ignores it and offers its own limit (Chromium: 262,144 bytes).
   */
  maxMessageSize?: number;
}

export interface RtcSessionDescription {
  type: string;
  sdp?: string;
}

export interface RtcDescriptionInit {
  type: 'offer' | 'answer';
  sdp: string;
}

export interface RtcIceCandidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

/** What a data channel delivers: text, or (binaryType 'arraybuffer') an ArrayBuffer. */
export interface RtcMessageEvent {
  readonly data: unknown;
}

export interface RtcDataChannel {
  readonly label: string;
  readonly ordered: boolean;
  readonly readyState: string;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  binaryType: string;
  send(data: string): void;
  send(data: ArrayBufferView<ArrayBuffer>): void;
  close(): void;
  onopen: RtcHandler<unknown>;
  onclose: RtcHandler<unknown>;
  onerror: RtcHandler<unknown>;
  onbufferedamountlow: RtcHandler<unknown>;
  onmessage: RtcHandler<RtcMessageEvent>;
}

export interface RtcDtlsTransport {
  /** The DER certificates the peer presented in the DTLS handshake (a stack that cannot tell returns empty ones). */
  getRemoteCertificates?(): ArrayBuffer[];
}

export interface RtcPeerConnection {
  readonly connectionState: string;
  readonly localDescription: RtcSessionDescription | null;
  readonly remoteDescription: RtcSessionDescription | null;
  readonly sctp: { readonly transport: RtcDtlsTransport; readonly maxMessageSize: number | null } | null;
  createDataChannel(label: string, init: { ordered: boolean }): RtcDataChannel;
  createOffer(): Promise<RtcSessionDescription>;
  createAnswer(): Promise<RtcSessionDescription>;
  setLocalDescription(description: RtcDescriptionInit): Promise<void>;
  setRemoteDescription(description: RtcDescriptionInit): Promise<void>;
  addIceCandidate(candidate?: RtcIceCandidate): Promise<void>;
  close(): void;
  onicecandidate: RtcHandler<{ readonly candidate: RtcIceCandidate | null }>;
  onconnectionstatechange: RtcHandler<unknown>;
  ondatachannel: RtcHandler<{ readonly channel: RtcDataChannel }>;
}

export type RtcPeerConnectionConstructor = new (configuration: RtcConfiguration) => RtcPeerConnection;
