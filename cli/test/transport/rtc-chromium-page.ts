/**
 * The browser side of rtc-chromium.test.ts, bundled for Chromium by the test: the RTC engine over the browser's
 * native RTCPeerConnection, its signals handed to Node through the function the test exposes (`portunusSignal`) and
 * Node's handed in through `rtcTest.deliver`. Written without the DOM library (the Node program compiles it), so
 * the few browser globals it touches are declared below.
 */
import { asKey, fromHex, PortunusError, toHex, type Role, type Signal } from '@portunus/protocol';
import { nobleSha256 } from '@portunus/protocol/noble';
import {
  AsyncQueue,
  connectRtc,
  sdpFingerprint,
  type RtcPeerConnection,
  type RtcPeerConnectionConstructor,
  type Transport,
} from '@portunus/client';
import { flowOf } from './rtc-flow.js';

interface Browser {
  RTCPeerConnection: RtcPeerConnectionConstructor;
  crypto: { getRandomValues(bytes: Uint8Array): Uint8Array };
  portunusSignal(signal: Signal): Promise<void>;
  rtcTest: RtcTest;
}

/** What the test calls through page.evaluate; every result is plain data. */
export interface RtcTest {
  deliver(signal: Signal): void;
  /** 'ok', or the PortunusError code the attempt failed with. */
  connect(role: Role, keyHex: string): Promise<string>;
  /** Sends `total` random bytes in frames of `frameBytes`; the SHA-256 of what was sent. */
  send(total: number, frameBytes: number): Promise<string>;
  /** Reads frames until `total` bytes came; their SHA-256 and the largest frame. */
  receive(total: number): Promise<{ sha256: string; largest: number }>;
  /** The certificates as this side's engine saw them (hex SHA-256), and the agreed max-message-size. */
  certificates(): { presented: string; remoteSdp: string; localSdp: string; maxMessageSize: number | null };
  /** The candidate types this side offered and the route it took (from getStats). */
  route(): Promise<{ local: string; remote: string }>;
  close(): Promise<void>;
  /** The transport's flow-control counters, for the message of a test that timed out. */
  flow(): Record<string, unknown>;
}

const browser = globalThis as unknown as Browser;
const inbox = new AsyncQueue<Signal>(256);
const peers: RtcPeerConnection[] = [];
let transport: Transport | undefined;

/** The native constructor, remembering each connection so the test can read its certificates. */
const Recording = function (configuration: ConstructorParameters<RtcPeerConnectionConstructor>[0]) {
  const pc = new browser.RTCPeerConnection(configuration);
  peers.push(pc);
  return pc;
} as unknown as RtcPeerConnectionConstructor;

const sha256Hex = (bytes: Uint8Array) => {
  const hash = nobleSha256();
  hash.update(bytes);
  return hash.digestHex();
};

const open = (): Transport => {
  if (transport === undefined) throw new Error('not connected');
  return transport;
};

browser.rtcTest = {
  deliver: (signal) => void inbox.push(signal),
  async connect(role, keyHex) {
    try {
      transport = await connectRtc(Recording, {
        role,
        link: { sendSignal: (signal) => browser.portunusSignal(signal), nextSignal: () => inbox.shift() },
        bindingKey: asKey('binding', fromHex(keyHex)),
        iceServers: [],
        signal: AbortSignal.timeout(20_000),
      });
      return 'ok';
    } catch (err) {
      return err instanceof PortunusError ? err.code : String(err);
    }
  },
  async send(total, frameBytes) {
    const hash = nobleSha256();
    for (let sent = 0; sent < total; sent += frameBytes) {
      const frame = new Uint8Array(Math.min(frameBytes, total - sent));
      for (let at = 0; at < frame.length; at += 65536) browser.crypto.getRandomValues(frame.subarray(at, at + 65536));
      hash.update(frame);
      await open().send(frame);
    }
    return hash.digestHex();
  },
  async receive(total) {
    const hash = nobleSha256();
    let got = 0;
    let largest = 0;
    for await (const frame of open().frames()) {
      hash.update(frame);
      got += frame.length;
      largest = Math.max(largest, frame.length);
      if (got >= total) break;
    }
    return { sha256: hash.digestHex(), largest };
  },
  certificates() {
    const pc = peers.at(-1);
    const presented = pc?.sctp?.transport.getRemoteCertificates?.()[0];
    return {
      presented: presented === undefined ? '' : sha256Hex(new Uint8Array(presented)),
      remoteSdp: toHex(sdpFingerprint(pc?.remoteDescription?.sdp) ?? new Uint8Array()),
      localSdp: toHex(sdpFingerprint(pc?.localDescription?.sdp) ?? new Uint8Array()),
      maxMessageSize: pc?.sctp?.maxMessageSize ?? null,
    };
  },
  async route() {
    const pc = peers.at(-1) as unknown as { getStats(): Promise<Map<string, Record<string, unknown>>> };
    const stats = [...(await pc.getStats()).values()];
    // The transport's selected pair: the `nominated` flag of a pair on the controlled side can lag behind the data
    // (seen once in CI: no nominated pair yet after 8 MiB had crossed).
    const selected = stats.find((s) => s.type === 'transport')?.selectedCandidatePairId;
    const pair =
      stats.find((s) => s.type === 'candidate-pair' && s.id === selected) ??
      stats.find((s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded');
    const describe = (id: unknown) => {
      const c = stats.find((s) => s.id === id);
      return `${String(c?.candidateType)} ${String(c?.address)}:${String(c?.port)}`;
    };
    return { local: describe(pair?.localCandidateId), remote: describe(pair?.remoteCandidateId) };
  },
  close: async () => transport?.close(),
  flow: () => flowOf(transport),
};
