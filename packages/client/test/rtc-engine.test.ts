/**
 * The RTC engine (rtc-engine.ts) over node-datachannel's polyfill, a W3C RTCPeerConnection in Node: the shared
 * transport suite, then what the direct path owes on top: the signals in the protocol's order, the binding over the
 * certificates of this connection, giving up cleanly. The same engine against the CLI's engines and in Chromium:
 * cli/test/transport/rtc-interop.test.ts and rtc-chromium.test.ts.
 */
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { describe, expect, it } from 'vitest';
import { ABILITY_WEBRTC, asKey, type Key, type SessionKeys, type Signal } from '@portunus/protocol';
import {
  AsyncQueue,
  connectRtc,
  rtcConnector,
  sdpFingerprint,
  type DataContext,
  type PeerLink,
  type RtcPeerConnectionConstructor,
  type SignalLink,
  type Transport,
} from '@portunus/client';
import { settledPair, transportSuite, within } from '@portunus/client/transport-suite';

/** The polyfill's own typings lean on the DOM library, which the Node program does not load. */
const NodeRtc = RTCPeerConnection as unknown as RtcPeerConnectionConstructor;
const KEY = asKey(
  'binding',
  Uint8Array.from({ length: 32 }, (_, i) => i),
);

type Role = 'send' | 'receive';

/** Two signalling links back to back, in order, as the session carries them; `seen` records every signal sent. */
function signalLinks(): { links: Record<Role, SignalLink>; seen: { from: Role; signal: Signal }[] } {
  const inbox = { send: new AsyncQueue<Signal>(256), receive: new AsyncQueue<Signal>(256) };
  const seen: { from: Role; signal: Signal }[] = [];
  const link = (self: Role): SignalLink => ({
    sendSignal: async (signal) => {
      seen.push({ from: self, signal });
      await inbox[self === 'send' ? 'receive' : 'send'].push(signal);
    },
    nextSignal: (abort) =>
      new Promise<Signal>((resolve, reject) => {
        if (abort?.aborted) return reject(abort.reason);
        abort?.addEventListener('abort', () => reject(abort.reason), { once: true });
        inbox[self].shift().then(resolve, reject);
      }),
  });
  return { links: { send: link('send'), receive: link('receive') }, seen };
}

function connectPair(keys?: Record<Role, Key<'binding'>>) {
  const { links, seen } = signalLinks();
  const signal = AbortSignal.timeout(15_000);
  const side = (role: Role): Promise<Transport> =>
    connectRtc(NodeRtc, { role, link: links[role], bindingKey: keys?.[role] ?? KEY, iceServers: [], signal });
  return { results: Promise.allSettled([side('send'), side('receive')]), seen };
}

describe('RTC engine (W3C RTCPeerConnection, node-datachannel polyfill)', () => {
  transportSuite('webrtc (RTCPeerConnection ↔ RTCPeerConnection)', async () =>
    settledPair(await connectPair().results),
  );

  it('sends each description (without candidates) before its candidates; offers max-message-size 1 MiB + 29 and a SHA-256 fingerprint', async () => {
    const { results, seen } = connectPair();
    const pair = settledPair(await within(results, 'both sides'));
    try {
      for (const role of ['send', 'receive'] as const) {
        const kinds = seen.filter((s) => s.from === role).map((s) => s.signal.kind);
        expect(kinds[0]).toBe(role === 'send' ? 'offer' : 'answer');
        expect(kinds.slice(1).every((kind) => kind === 'candidate' || kind === 'end')).toBe(true);
        expect(kinds).toContain('candidate');
      }
      const offer = seen.find((s) => s.signal.kind === 'offer')!.signal as { sdp: string };
      // Candidates go out only once the sender has the answer (see rtc-engine.ts), never inside the description.
      expect(offer.sdp).not.toMatch(/^a=candidate:/m);
      expect(offer.sdp).toMatch(/^a=max-message-size:1048605\r$/m);
      expect(sdpFingerprint(offer.sdp)).toHaveLength(32);
      const candidates = seen.flatMap((s) => (s.signal.kind === 'candidate' ? [s.signal.candidate] : []));
      expect(candidates.every((c) => c.startsWith('candidate:'))).toBe(true);
      expect(candidates.filter((c) => / typ (srflx|relay)/.test(c))).toEqual([]);
    } finally {
      await pair.dispose();
    }
  });

  it('fails with BINDING_MISMATCH when the binding keys differ, and neither side connects', async () => {
    const other = asKey('binding', new Uint8Array(32).fill(9));
    const settled = await within(connectPair({ send: KEY, receive: other }).results, 'both sides');
    expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const codes = settled.map((r) => ((r as PromiseRejectedResult).reason as { code: string }).code);
    // As with the CLI's libdatachannel engine (ndc.test.ts): the side whose peer found the mismatch first may see the
    // close before the wrong MAC, and learns of the mismatch from the peer's sealed error (PROTOCOL.md §6.4).
    expect(codes).toContain('BINDING_MISMATCH');
    for (const code of codes) expect(['BINDING_MISMATCH', 'DIRECT_FAILED']).toContain(code);
  });

  it('fails with PROTOCOL when the first signal to the receiver is not an offer', async () => {
    const { links } = signalLinks();
    await links.send.sendSignal({ kind: 'end' });
    const attempt = connectRtc(NodeRtc, {
      role: 'receive',
      link: links.receive,
      bindingKey: KEY,
      iceServers: [],
      signal: AbortSignal.timeout(15_000),
    });
    await expect(within(attempt, 'the attempt to end')).rejects.toMatchObject({ code: 'PROTOCOL' });
  });

  it('gives up with the abort reason when the peer never answers', async () => {
    const { links } = signalLinks();
    const abort = new AbortController();
    const reason = new Error('gave up');
    const attempt = connectRtc(NodeRtc, {
      role: 'send',
      link: { ...links.send, sendSignal: async () => void setImmediate(() => abort.abort(reason)) },
      bindingKey: KEY,
      iceServers: [],
      signal: abort.signal,
    });
    await expect(within(attempt, 'the attempt to end')).rejects.toThrow(/gave up/);
  });

  it('rtcConnector opens the path of a session: signals on the webrtc-v1 topic, bound with the session binding key', async () => {
    const topics = new Set<string>();
    const inbox = { a: new AsyncQueue<unknown>(256), b: new AsyncQueue<unknown>(256) };
    const peerLink = (self: 'a' | 'b'): PeerLink => ({
      send: async (topic, body) => {
        topics.add(topic);
        await inbox[self === 'a' ? 'b' : 'a'].push(body);
      },
      next: (_, abort) =>
        new Promise((resolve, reject) => {
          if (abort?.aborted) return reject(abort.reason);
          abort?.addEventListener('abort', () => reject(abort.reason), { once: true });
          inbox[self].shift().then(resolve, reject);
        }),
    });
    const session = new AbortController();
    const context = (side: 'a' | 'b', role: Role): DataContext => ({
      keys: { binding: KEY } as SessionKeys,
      side,
      role,
      abilities: [ABILITY_WEBRTC],
      signal: session.signal,
      link: peerLink(side),
      defer: () => undefined,
    });
    const connect = rtcConnector({ RTCPeerConnection: NodeRtc, iceServers: [] });
    const signal = AbortSignal.timeout(15_000);
    const pair = settledPair(
      await within(
        Promise.allSettled([connect(context('a', 'send'), signal), connect(context('b', 'receive'), signal)]),
        'both sides',
      ),
    );
    try {
      await within(pair.a.send(new Uint8Array([1, 2, 3])), 'one frame');
      for await (const frame of pair.b.frames()) {
        expect([...frame]).toEqual([1, 2, 3]);
        break;
      }
      expect([...topics]).toEqual([ABILITY_WEBRTC]);
    } finally {
      session.abort();
      await pair.dispose();
    }
  });
});
