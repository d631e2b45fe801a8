/**
 * The page's entry point: builds the environment from the browser (the relay is this page's own origin; AES-GCM for
 * the data from WebCrypto in a secure context, else from @noble, as for the session and SHA-256; randomness from
 * crypto.getRandomValues) and starts the app. A link opened in this tab (`/#CODE`) starts receiving; the code is
 * then removed from the address bar and the history.
 */
import { secureRandomBytes } from '@portunus/protocol';
import { nobleAead, nobleSha256 } from '@portunus/protocol/noble';
import { pageDataAead } from '@portunus/protocol/webcrypto';
import { advertisedIce, mergeIceServers, rtcConnector } from '@portunus/client';
import { App } from './app.js';
import { pickSaver } from './save/pick-saver.js';
import { pageSettings } from './page-settings.js';
import { relayUrl } from './relay-address.js';
import { Screen } from './screen.js';

const root = document.querySelector<HTMLElement>('#app');
const RTC = globalThis.RTCPeerConnection as typeof RTCPeerConnection | undefined;
if (root !== null) {
  const now = () => performance.now();
  const app = new App(
    new Screen(root, now),
    {
      settings: pageSettings(RTC !== undefined),
      relayUrl: relayUrl(location),
      WebSocket,
      origin: location.origin,
      fetch: (input, init) => fetch(input, init),
      aead: nobleAead,
      dataAead: pageDataAead().aead,
      sha256: nobleSha256,
      random: secureRandomBytes,
      now,
      // WebRTC where the browser has it, with the ICE servers the relay offers (none: host candidates only).
      connectors: (paired) =>
        RTC === undefined
          ? {}
          : { webrtc: rtcConnector({ RTCPeerConnection: RTC, iceServers: mergeIceServers(advertisedIce(paired)) }) },
      debug: () => undefined,
    },
    location.origin,
    pickSaver(window),
  );
  const takeHash = (): string => {
    const { hash } = location;
    if (hash !== '') history.replaceState(null, '', location.pathname + location.search);
    return hash;
  };
  app.start(takeHash());
  window.addEventListener('hashchange', () => app.openLink(takeHash()));
}
