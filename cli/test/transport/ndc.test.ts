/**
 * The libdatachannel engine (node-datachannel): the shared transport suite over ndc ↔ ndc and over both mixed pairs
 * (werift sender ↔ libdatachannel receiver and the reverse), so the two engines are shown to speak one protocol;
 * then what the direct path owes on top: the binding over the certificates actually presented, libdatachannel's
 * own fingerprint check, no default STUN, loopback candidates, and giving up cleanly. Skipped, with the reason
 * printed, where node-datachannel does not load.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { asKey, type Key, type Signal } from '@portunus/protocol';
import type { Transport } from '@portunus/client';
import { connectWebRtc } from '../../src/transport/webrtc-connect.js';
import { loadWebRtcEngine, type WebRtcEngineName } from '../../src/transport/webrtc-engine.js';
import { libdatachannelMissing } from './engines.js';
import { memoryLinks, type Tap } from './links.js';
import { settledPair, transportSuite, within } from '@portunus/client/transport-suite';

const KEY = asKey(
  'binding',
  Uint8Array.from({ length: 32 }, (_, i) => i),
);
const loaded = await libdatachannelMissing('the libdatachannel tests');

interface Connect {
  engines: { send: WebRtcEngineName; receive: WebRtcEngineName };
  keys?: { send: Key<'binding'>; receive: Key<'binding'> };
  tap?: Tap;
}

function connectPair(opts: Connect): Promise<PromiseSettledResult<Transport>[]> {
  const links = memoryLinks(opts.tap ? { tap: opts.tap } : {});
  const signal = AbortSignal.timeout(15_000);
  const side = (role: 'send' | 'receive') =>
    connectWebRtc({
      role,
      link: links[role],
      bindingKey: opts.keys?.[role] ?? KEY,
      iceServers: [],
      signal,
      engine: opts.engines[role],
    });
  return Promise.allSettled([side('send'), side('receive')]);
}

const PAIRS: [string, Connect['engines']][] = [
  ['libdatachannel', { send: 'libdatachannel', receive: 'libdatachannel' }],
  ['werift → libdatachannel', { send: 'werift', receive: 'libdatachannel' }],
  ['libdatachannel → werift', { send: 'libdatachannel', receive: 'werift' }],
];

describe.skipIf(loaded !== undefined)('libdatachannel engine', () => {
  for (const [name, engines] of PAIRS) {
    transportSuite(`webrtc (${name})`, async () => settledPair(await connectPair({ engines })));
  }

  describe('binding and negotiation', () => {
    it.each(PAIRS)(
      '%s: fails with BINDING_MISMATCH when the binding keys differ, and neither side connects',
      async (_, engines) => {
        const other = asKey('binding', new Uint8Array(32).fill(9));
        const results = await within(connectPair({ engines, keys: { send: KEY, receive: other } }), 'both sides');
        expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
        const codes = results.map((r) => ((r as PromiseRejectedResult).reason as { code: string }).code);
        // node-datachannel delivers a channel's messages and its close through separate callbacks whose order is not
        // kept, so the side whose peer found the mismatch first may see the close before the wrong MAC: it fails
        // with DIRECT_FAILED, and learns of the mismatch from the peer's sealed error (PROTOCOL.md §6.4).
        expect(codes).toContain('BINDING_MISMATCH');
        for (const code of codes) expect(['BINDING_MISMATCH', 'DIRECT_FAILED']).toContain(code);
      },
    );

    it('binds over the certificate werift actually presented (libdatachannel records it in the DTLS handshake)', async () => {
      const [a, b] = await within(
        connectPair({ engines: { send: 'werift', receive: 'libdatachannel' } }),
        'both sides',
      );
      if (a?.status !== 'fulfilled' || b?.status !== 'fulfilled') throw new Error('the direct connection failed');
      try {
        const werift = a.value as unknown as {
          pc: { sctpTransport: { dtlsTransport: { localCertificate: { certPem: string } } } };
        };
        const der = new X509Certificate(werift.pc.sctpTransport.dtlsTransport.localCertificate.certPem).raw;
        const ndc = b.value as unknown as {
          channel: { peer: { pc: { remoteFingerprint(): { value: string; algorithm: string } } } };
        };
        const seen = ndc.channel.peer.pc.remoteFingerprint();
        expect(seen.algorithm).toBe('sha-256');
        expect(seen.value.replaceAll(':', '').toLowerCase()).toBe(createHash('sha256').update(der).digest('hex'));
      } finally {
        await Promise.all([a.value.close(), b.value.close()]);
      }
    });

    it('refuses a DTLS certificate that does not match the SDP fingerprint (libdatachannel checks it)', async () => {
      // The answer's fingerprint is swapped for another certificate's: the sender's DTLS must refuse the real one.
      const forged = 'a=fingerprint:sha-256 ' + Array.from({ length: 32 }, () => 'AB').join(':');
      const tap: Tap = (_, s) =>
        s.kind === 'answer' ? { ...s, sdp: s.sdp.replace(/^a=fingerprint:sha-256 .*$/m, forged + '\r') } : s;
      const logged: string[] = [];
      const { ndc } = (
        (await loadWebRtcEngine('libdatachannel')) as { runtime: { ndc: typeof import('node-datachannel') } }
      ).runtime;
      ndc.initLogger('Error', (_, message) => logged.push(message));
      const results = await within(
        connectPair({ engines: { send: 'libdatachannel', receive: 'libdatachannel' }, tap }),
        'both sides',
      );
      ndc.initLogger('Fatal', () => undefined);
      for (const r of results) expect(r.status).toBe('rejected');
      expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'DIRECT_FAILED' });
      expect(logged.some((m) => /Invalid fingerprint/.test(m))).toBe(true);
    });

    it('sends an offer, an answer, host candidates (127.0.0.1 among them) and end, with no STUN server', async () => {
      const seen: Signal[] = [];
      const [a, b] = await within(
        connectPair({
          engines: { send: 'libdatachannel', receive: 'libdatachannel' },
          tap: (_, s) => (seen.push(s), s),
        }),
        'both sides',
      );
      expect([a?.status, b?.status]).toEqual(['fulfilled', 'fulfilled']);
      expect(seen.filter((s) => s.kind === 'offer')).toHaveLength(1);
      expect(seen.filter((s) => s.kind === 'answer')).toHaveLength(1);
      const offer = seen.find((s) => s.kind === 'offer') as { sdp: string };
      expect(offer.sdp).toMatch(/^a=max-message-size:1048605\r$/m);
      expect(offer.sdp).toMatch(/^a=fingerprint:sha-256 /m);
      const candidates = seen.flatMap((s) => (s.kind === 'candidate' ? [s.candidate] : []));
      expect(candidates.every((c) => c.startsWith('candidate:'))).toBe(true);
      expect(candidates.some((c) => / 127\.0\.0\.1 \d+ typ host/.test(c))).toBe(true);
      expect(candidates.filter((c) => / typ (srflx|relay)/.test(c))).toEqual([]);
      for (const r of [a, b]) if (r?.status === 'fulfilled') await r.value.close();
    });

    it('gives up with the abort reason when the peer never answers', async () => {
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
        engine: 'libdatachannel',
      });
      await expect(within(attempt, 'the attempt to end')).rejects.toThrow(/gave up/);
    });
  });
});
