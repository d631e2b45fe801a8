/** The WebRTC engines a test can run here: libdatachannel only where node-datachannel loads (it says why not). */
import { loadWebRtcEngine, type WebRtcEngineName } from '../../src/transport/webrtc-engine.js';

export interface EnginePair {
  send: WebRtcEngineName;
  receive: WebRtcEngineName;
}

/** Why libdatachannel cannot run here (printed once, naming what is skipped), or undefined when it loads. */
export async function libdatachannelMissing(skipped: string): Promise<string | undefined> {
  const missing = await loadWebRtcEngine('libdatachannel').then(
    () => undefined,
    (err: Error) => err.message,
  );
  if (missing !== undefined) console.warn(`skipping ${skipped}: ${missing}`);
  return missing;
}

/**
 * The engine pairs cross-engine tests run: werift on both sides, and where libdatachannel loads, libdatachannel on
 * both and one of each (werift sending to libdatachannel).
 */
export async function enginePairs(skipped: string): Promise<EnginePair[]> {
  const missing = await libdatachannelMissing(skipped);
  return [
    { send: 'werift', receive: 'werift' },
    ...(missing === undefined
      ? ([
          { send: 'libdatachannel', receive: 'libdatachannel' },
          { send: 'werift', receive: 'libdatachannel' },
        ] as const)
      : []),
  ];
}
