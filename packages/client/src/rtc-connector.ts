/**
 * The page's WebRTC path, as paths.ts takes it: `{ webrtc: rtcConnector({ RTCPeerConnection, iceServers }) }`, with
 * the browser's own RTCPeerConnection (or, in Node, node-datachannel's polyfill). Signalling goes through the
 * session's sealed link and the path is bound with the session's binding key, as on the CLI (node-connectors.ts).
 */
import type { IceServer } from '@portunus/protocol';
import { webrtcSignals } from './path-signals.js';
import type { DirectConnector } from './paths.js';
import type { RtcPeerConnectionConstructor } from './rtc-api.js';
import { connectRtc } from './rtc-engine.js';

export interface RtcConnectorDeps {
  RTCPeerConnection: RtcPeerConnectionConstructor;
  /** This side's servers first, then the relay's (mergeIceServers); none: host candidates only. */
  iceServers: readonly IceServer[];
  debug?(message: string): void;
}

export function rtcConnector(deps: RtcConnectorDeps): DirectConnector {
  return (data, signal) =>
    connectRtc(deps.RTCPeerConnection, {
      role: data.role,
      link: webrtcSignals(data.link),
      bindingKey: data.keys.binding,
      iceServers: deps.iceServers,
      signal,
      ...(deps.debug === undefined ? {} : { debug: deps.debug }),
    });
}
