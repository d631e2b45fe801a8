/**
 * The direct paths Node can open (@portunus/client's DirectConnectors): TCP (tcp-connect.ts) and WebRTC on werift or
 * libdatachannel (webrtc-connect.ts), with this side's ICE servers ahead of the relay's.
 */
import { mergeIceServers, tcpHints, webrtcSignals, type DirectConnectors } from '@portunus/client';
import { secureRandomBytes, type IceServer, type RandomBytes } from '@portunus/protocol';
import { connectTcp } from './tcp-connect.js';
import { connectWebRtc } from './webrtc-connect.js';

export interface NodeConnectorOptions {
  /** This side's ICE servers (they take precedence) and the relay's. */
  iceServers: readonly IceServer[];
  relayIce: readonly IceServer[];
  /** Where to listen for a direct TCP connection (the LAN --bind address); all interfaces when absent. */
  tcpListenHost?: string;
  random?: RandomBytes;
  debug(message: string): void;
}

export function nodeConnectors(opts: NodeConnectorOptions): DirectConnectors {
  const iceServers = mergeIceServers(opts.iceServers, opts.relayIce);
  return {
    tcp: (data, signal) =>
      connectTcp({
        role: data.role,
        bindingKey: data.keys.binding,
        exchange: tcpHints(data.link),
        random: opts.random ?? secureRandomBytes,
        signal,
        ...(opts.tcpListenHost === undefined ? {} : { listenHost: opts.tcpListenHost }),
        debug: opts.debug,
      }),
    webrtc: (data, signal) =>
      connectWebRtc({
        role: data.role,
        link: webrtcSignals(data.link),
        bindingKey: data.keys.binding,
        iceServers,
        signal,
        debug: opts.debug,
      }),
  };
}
