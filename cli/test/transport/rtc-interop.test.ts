/**
 * The page's WebRTC engine (@portunus/client's connectRtc over a W3C RTCPeerConnection, here node-datachannel's
 * polyfill) against the CLI's two engines, in both roles: the shared transport suite and a bulk transfer with its
 * SHA-256 compared, so the engines are shown to speak one protocol, the binding included (a connection only comes up
 * when both sides MAC the same certificate fingerprints); and a wrong binding key fails as it does between the CLI's
 * engines. Chromium's native RTCPeerConnection against the same engines: rtc-chromium.test.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { afterAll, describe, expect, it } from 'vitest';
import { asKey, type Key } from '@portunus/protocol';
import { connectRtc, type RtcPeerConnectionConstructor, type Transport } from '@portunus/client';
import { settledPair, take, transportSuite, within } from '@portunus/client/transport-suite';
import { connectWebRtc } from '../../src/transport/webrtc-connect.js';
import { loadWebRtcEngine, type WebRtcEngineName } from '../../src/transport/webrtc-engine.js';
import { libdatachannelMissing } from './engines.js';
import { memoryLinks } from './links.js';

/** The polyfill's own typings lean on the DOM library, which the Node program does not load. */
const NodeRtc = RTCPeerConnection as unknown as RtcPeerConnectionConstructor;
const KEY = asKey(
  'binding',
  Uint8Array.from({ length: 32 }, (_, i) => i),
);
const MiB = 1024 * 1024;
const missing = await libdatachannelMissing('the RTC engine against libdatachannel');
/**
 * The polyfill runs on the same native library as the CLI's libdatachannel engine, whose last returned lease calls
 * the library's process-wide cleanup(), closing every connection (the polyfill's too, silently). In the CLI the
 * polyfill never runs; here the file holds a lease of its own, so that cleanup waits for the file's end.
 */
const engine = missing === undefined ? await loadWebRtcEngine('libdatachannel') : undefined;
const releaseNative = engine?.name === 'libdatachannel' ? engine.runtime.lease() : () => undefined;
afterAll(() => releaseNative());

type Engine = 'rtc' | WebRtcEngineName;
interface Pair {
  send: Engine;
  receive: Engine;
}

const PAIRS: Pair[] = [
  { send: 'rtc', receive: 'werift' },
  { send: 'werift', receive: 'rtc' },
  ...(missing === undefined
    ? ([
        { send: 'rtc', receive: 'libdatachannel' },
        { send: 'libdatachannel', receive: 'rtc' },
      ] as const)
    : []),
];

function connectPair(engines: Pair, keys?: { send: Key<'binding'>; receive: Key<'binding'> }) {
  const links = memoryLinks();
  const signal = AbortSignal.timeout(20_000);
  const side = (role: 'send' | 'receive'): Promise<Transport> => {
    const opts = { role, link: links[role], bindingKey: keys?.[role] ?? KEY, iceServers: [], signal };
    const engine = engines[role];
    return engine === 'rtc' ? connectRtc(NodeRtc, opts) : connectWebRtc({ ...opts, engine });
  };
  return Promise.allSettled([side('send'), side('receive')]);
}

const name = (pair: Pair) => `${pair.send} → ${pair.receive}`;

describe('the RTC engine against the CLI engines', () => {
  for (const pair of PAIRS) transportSuite(`webrtc (${name(pair)})`, async () => settledPair(await connectPair(pair)));

  it.each(PAIRS.map((pair) => [name(pair), pair] as const))(
    '%s: 8 MiB each way at once in 256 KiB frames, SHA-256 equal on arrival',
    async (_, engines) => {
      const pair = settledPair(await within(connectPair(engines), 'both sides'));
      try {
        const data = { a: randomBytes(8 * MiB), b: randomBytes(8 * MiB) };
        const frames = (bytes: Buffer) =>
          Array.from({ length: bytes.length / (256 * 1024) }, (_, i) =>
            bytes.subarray(i * 256 * 1024, (i + 1) * 256 * 1024),
          );
        const send = async (from: 'a' | 'b') => {
          for (const frame of frames(data[from])) await pair[from].send(new Uint8Array(frame));
        };
        const [, , atB, atA] = await Promise.all([
          within(send('a'), 'a sending', 60_000),
          within(send('b'), 'b sending', 60_000),
          take(pair.b, 32, 60_000),
          take(pair.a, 32, 60_000),
        ]);
        const sha = (parts: Uint8Array[] | Buffer) => {
          const hash = createHash('sha256');
          for (const part of Array.isArray(parts) ? parts : [parts]) hash.update(part);
          return hash.digest('hex');
        };
        expect(sha(atB)).toBe(sha(data.a));
        expect(sha(atA)).toBe(sha(data.b));
      } finally {
        await pair.dispose();
      }
    },
  );

  it.each(PAIRS.map((pair) => [name(pair), pair] as const))(
    '%s: fails with BINDING_MISMATCH when the binding keys differ, and neither side connects',
    async (_, engines) => {
      const other = asKey('binding', new Uint8Array(32).fill(9));
      const results = await within(connectPair(engines, { send: KEY, receive: other }), 'both sides');
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      const codes = results.map((r) => ((r as PromiseRejectedResult).reason as { code: string }).code);
      // As between the CLI's engines (ndc.test.ts): the side whose peer found the mismatch first may see the close
      // before the wrong MAC; it learns of the mismatch from the peer's sealed error (PROTOCOL.md §6.4).
      expect(codes).toContain('BINDING_MISMATCH');
      for (const code of codes) expect(['BINDING_MISMATCH', 'DIRECT_FAILED']).toContain(code);
    },
  );
});
