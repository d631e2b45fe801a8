/**
 * The shared transport suite over a real werift data channel (two peer connections in this process, loopback
 * host candidates, signals through in-memory links), then what only the direct path has: the binding check on a
 * real DTLS connection, werift's defaults kept out, and giving up cleanly (webrtc-channel.test.ts covers the rest).
 */
import { type DirectOptions } from '@portunus/client';
import { describe, expect, it } from 'vitest';
import { asKey, type Key, type Signal } from '@portunus/protocol';
import { connectWebRtc } from '../../src/transport/webrtc-connect.js';
import type { WebRtcTransport } from '../../src/transport/webrtc.js';
import { memoryLinks, type Tap } from './links.js';
import { settledPair, transportSuite, within } from '@portunus/client/transport-suite';

const KEY = asKey(
  'binding',
  Uint8Array.from({ length: 32 }, (_, i) => i),
);

interface Connect {
  keys?: { send: Key<'binding'>; receive: Key<'binding'> };
  tap?: Tap;
  timeoutMs?: number;
  extra?: Partial<DirectOptions>;
}

/** Both ends of one direct connection, the sender's offer against the receiver's answer. */
function connectPair(opts: Connect = {}): Promise<PromiseSettledResult<WebRtcTransport>[]> {
  const links = memoryLinks(opts.tap ? { tap: opts.tap } : {});
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 15_000);
  const side = (role: 'send' | 'receive') =>
    // werift here, whatever PORTUNUS_WEBRTC_ENGINE says: libdatachannel has its own file (ndc.test.ts).
    connectWebRtc({
      role,
      link: links[role],
      bindingKey: opts.keys?.[role] ?? KEY,
      iceServers: [],
      signal,
      engine: 'werift',
      ...opts.extra,
    }) as Promise<WebRtcTransport>;
  return Promise.allSettled([side('send'), side('receive')]);
}

transportSuite('webrtc', async () => settledPair(await connectPair()));

describe('webrtc transport: binding and limits', () => {
  it('fails both sides with BINDING_MISMATCH when the binding keys differ (another session, or a forger)', async () => {
    const other = asKey('binding', new Uint8Array(32).fill(9));
    const results = await within(connectPair({ keys: { send: KEY, receive: other } }), 'both sides');
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'BINDING_MISMATCH' });
    }
  });

  it('sends only sealed-path signals: an offer, an answer, candidates and end, with no default STUN server', async () => {
    const seen: Signal[] = [];
    const [a, b] = await within(connectPair({ tap: (_, s) => (seen.push(s), s) }), 'both sides');
    expect(a?.status).toBe('fulfilled');
    expect(b?.status).toBe('fulfilled');
    expect(seen.filter((s) => s.kind === 'offer')).toHaveLength(1);
    expect(seen.filter((s) => s.kind === 'answer')).toHaveLength(1);
    const candidates = seen.flatMap((s) => (s.kind === 'candidate' ? [s.candidate] : []));
    expect(candidates.some((c) => / 127\.0\.0\.1 \d+ typ host/.test(c))).toBe(true);
    // With no ICE servers given, werift's built-in public STUN server must not be asked: no reflexive candidates,
    // and no STUN server left on the ICE connections (werift's ICE layer has a default of its own).
    expect(candidates.filter((c) => / typ (srflx|relay)/.test(c))).toEqual([]);
    for (const r of [a, b]) {
      if (r?.status !== 'fulfilled') continue;
      const { pc } = r.value as unknown as { pc: { iceTransports: { connection: { stunServer?: unknown } }[] } };
      expect(pc.iceTransports.length).toBeGreaterThan(0);
      expect(pc.iceTransports.map((t) => t.connection.stunServer)).toEqual(pc.iceTransports.map(() => undefined));
      await r.value.close();
    }
  });

  it('gives up with the abort reason when the peer never answers, and releases everything', async () => {
    const reason = new Error('gave up');
    const abort = new AbortController();
    // Every signal is lost; once the first is out the attempt waits for an answer that never comes, and is aborted.
    const links = memoryLinks({ tap: () => void setImmediate(() => abort.abort(reason)) });
    const attempt = connectWebRtc({
      role: 'send',
      link: links.send,
      bindingKey: KEY,
      iceServers: [],
      signal: abort.signal,
      engine: 'werift',
    });
    await expect(within(attempt, 'the attempt to end')).rejects.toThrow(/gave up/);
  });
});
