/**
 * Two real werift peer connections in this process, joined on loopback by handing each one the other's complete
 * description (no trickle, no STUN), with one open ordered data channel between them. For tests of werift itself;
 * the CLI's own negotiation (webrtc-connect.ts) is covered by webrtc.test.ts.
 */
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { MAX_FRAME_BYTES } from '../../src/protocol.js';
import type { Werift } from '../../src/transport/werift.js';
import { within } from './transport-suite.js';

export interface WeriftPair {
  offerer: RTCPeerConnection;
  answerer: RTCPeerConnection;
  /** The offerer's end of the channel, and the answerer's. */
  sending: RTCDataChannel;
  receiving: RTCDataChannel;
  close(): Promise<void>;
}

/** As the CLI configures werift (webrtc-connect.ts): loopback, no STUN, a whole frame is one message. */
export const WERIFT_TEST_CONFIG = { iceServers: [], iceAdditionalHostAddresses: ['127.0.0.1'], iceUseIpv6: false, maxMessageSize: MAX_FRAME_BYTES };

export async function connectWeriftPair(werift: Werift): Promise<WeriftPair> {
  const offerer = new werift.RTCPeerConnection(WERIFT_TEST_CONFIG);
  const answerer = new werift.RTCPeerConnection(WERIFT_TEST_CONFIG);
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
    const receiving = await within(received, 'the answerer to see the data channel');
    await within(opened(sending), 'the data channel to open');
    return { offerer, answerer, sending, receiving, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function opened(dc: RTCDataChannel): Promise<void> {
  if (dc.readyState === 'open') return Promise.resolve();
  return new Promise((resolve) => {
    const { unSubscribe } = dc.stateChanged.subscribe((state) => {
      if (state === 'open') (unSubscribe(), resolve());
    });
  });
}
