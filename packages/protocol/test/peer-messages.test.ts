import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../src/bytes.js';
import { PortunusError } from '../src/errors.js';
import { parseOffer } from '../src/offer.js';
import {
  encodeHandshake,
  encodeSealed,
  MAX_SIGNAL_BODY_BYTES,
  parseHandshake,
  parseSealed,
  type SealedMessage,
} from '../src/peer-messages.js';
import { canonicalSignal, MAX_WEBRTC_ATTEMPTS, parseSignal, signalAttempt, signalBody } from '../src/signal.js';
import { encodeTcpHints } from '../src/tcp-hints.js';

const Y = Uint8Array.from({ length: 32 }, (_, i) => i);
const SID = Uint8Array.from({ length: 16 }, (_, i) => i);

describe('handshake messages: exact JSON', () => {
  it('pake', () => {
    const body = encodeHandshake({ type: 'pake', sid: SID, role: 'send', abilities: ['relay-v1'], y: Y });
    expect(fromUtf8(body)).toBe(
      '{"type":"pake","sid":"AAECAwQFBgcICQoLDA0ODw","role":"send","abilities":["relay-v1"],"y":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}',
    );
    expect(parseHandshake(body, 'pake')).toEqual({
      type: 'pake',
      sid: SID,
      role: 'send',
      abilities: ['relay-v1'],
      y: Y,
    });
  });

  it('confirm', () => {
    const body = encodeHandshake({ type: 'confirm', mac: Y });
    expect(fromUtf8(body)).toBe('{"type":"confirm","mac":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}');
    expect(parseHandshake(body, 'confirm')).toEqual({ type: 'confirm', mac: Y });
  });

  it('ignores unknown fields', () => {
    const body = utf8('{"type":"confirm","mac":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8","future":1}');
    expect(parseHandshake(body, 'confirm')).toEqual({ type: 'confirm', mac: Y });
  });

  it.each([
    ['not json', 'hello'],
    ['not an object', '[1]'],
    ['wrong type', '{"type":"confirm","mac":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}'],
    ['short y', '{"type":"pake","sid":"AAECAwQFBgcICQoLDA0ODw","role":"send","abilities":[],"y":"AAEC"}'],
    ['no sid', '{"type":"pake","role":"send","abilities":[],"y":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}'],
    [
      'short sid',
      '{"type":"pake","sid":"AAEC","role":"send","abilities":[],"y":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}',
    ],
    [
      'bad role',
      '{"type":"pake","sid":"AAECAwQFBgcICQoLDA0ODw","role":"both","abilities":[],"y":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}',
    ],
    [
      'abilities not strings',
      '{"type":"pake","sid":"AAECAwQFBgcICQoLDA0ODw","role":"send","abilities":[1],"y":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}',
    ],
    [
      'padded base64',
      '{"type":"pake","sid":"AAECAwQFBgcICQoLDA0ODw","role":"send","abilities":[],"y":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}',
    ],
  ])('rejects %s as a pake message', (_, text) => {
    const r = parseHandshake(utf8(text), 'pake');
    expect(r).toBeInstanceOf(PortunusError);
    expect((r as PortunusError).code).toBe('PROTOCOL');
  });

  it('rejects invalid UTF-8 and oversized bodies', () => {
    expect(parseHandshake(Uint8Array.of(0xff, 0xfe), 'pake')).toBeInstanceOf(PortunusError);
    expect(parseHandshake(new Uint8Array(5000).fill(0x20), 'pake')).toBeInstanceOf(PortunusError);
  });
});

describe('sealed messages: exact JSON and validation', () => {
  const golden: [SealedMessage, string][] = [
    [
      { type: 'offer', offer: { kind: 'file', name: 'a.txt', size: 3, mode: 0o644 } },
      '{"type":"offer","offer":{"kind":"file","name":"a.txt","size":3,"mode":420}}',
    ],
    [{ type: 'offer', offer: { kind: 'text', text: 'hi' } }, '{"type":"offer","offer":{"kind":"text","text":"hi"}}'],
    [{ type: 'answer', accept: true }, '{"type":"answer","accept":true}'],
    [
      { type: 'answer', accept: true, resume: { bytes: 1024, sha256: 'ab'.repeat(32) } },
      `{"type":"answer","accept":true,"resume":{"bytes":1024,"sha256":"${'ab'.repeat(32)}"}}`,
    ],
    [{ type: 'resume', bytes: 1024 }, '{"type":"resume","bytes":1024}'],
    [
      { type: 'answer', accept: false, reason: 'FILE_EXISTS' },
      '{"type":"answer","accept":false,"reason":"FILE_EXISTS"}',
    ],
    [{ type: 'sent', bytes: 3, sha256: 'ab'.repeat(32) }, `{"type":"sent","bytes":3,"sha256":"${'ab'.repeat(32)}"}`],
    [
      { type: 'received', bytes: 3, sha256: 'ab'.repeat(32) },
      `{"type":"received","bytes":3,"sha256":"${'ab'.repeat(32)}"}`,
    ],
    [{ type: 'error', code: 'CANCELLED', message: 'bye' }, '{"type":"error","code":"CANCELLED","message":"bye"}'],
  ];
  it.each(golden)('%j', (msg, json) => {
    expect(fromUtf8(encodeSealed(msg))).toBe(json);
    expect(parseSealed(utf8(json))).toEqual(msg);
  });

  it.each([
    ['unknown type', '{"type":"teleport"}', /unknown message type 'teleport'/],
    ['hostile type text', '{"type":"\\u001b[2J"}', /an invalid type/],
    ['negative size', '{"type":"offer","offer":{"kind":"file","name":"a","size":-1}}', /size/],
    ['fractional size', '{"type":"offer","offer":{"kind":"file","name":"a","size":1.5}}', /size/],
    ['setuid mode', '{"type":"offer","offer":{"kind":"file","name":"a","size":1,"mode":2541}}', /mode/],
    ['empty name', '{"type":"offer","offer":{"kind":"file","name":"","size":1}}', /name/],
    ['bad digest', '{"type":"sent","bytes":1,"sha256":"XYZ"}', /malformed/],
    ['answer without accept', '{"type":"answer"}', /malformed/],
    ['unknown refusal reason', '{"type":"answer","accept":false,"reason":"WHATEVER"}', /malformed/],
    [
      'a resume claim of nothing',
      `{"type":"answer","accept":true,"resume":{"bytes":0,"sha256":"${'ab'.repeat(32)}"}}`,
      /malformed/,
    ],
    ['a resume claim without its hash', '{"type":"answer","accept":true,"resume":{"bytes":5}}', /malformed/],
    ['a negative resume', '{"type":"resume","bytes":-1}', /malformed/],
  ])('rejects %s', (_, json, message) => {
    const r = parseSealed(utf8(json));
    expect(r).toBeInstanceOf(PortunusError);
    expect((r as PortunusError).message).toMatch(message);
  });

  it('maps an unknown error code from the peer to INTERNAL and bounds its message', () => {
    const r = parseSealed(utf8(`{"type":"error","code":"NOPE","message":"${'x'.repeat(1000)}"}`));
    expect(r).toEqual({ type: 'error', code: 'INTERNAL', message: 'x'.repeat(200) });
  });

  it('folder offers need bytes ≤ size; text offers at most 64 KiB', () => {
    expect(parseOffer({ kind: 'folder', name: 'f', size: 10, files: 1, bytes: 11 })).toBeInstanceOf(PortunusError);
    expect(parseOffer({ kind: 'folder', name: 'f', size: 10, files: 1, bytes: 5 })).toEqual({
      kind: 'folder',
      name: 'f',
      size: 10,
      files: 1,
      bytes: 5,
    });
    expect(parseOffer({ kind: 'text', text: 'é'.repeat(40000) })).toBeInstanceOf(PortunusError);
    expect(parseOffer({ kind: 'stream', name: 'stdin', extra: true })).toEqual({ kind: 'stream', name: 'stdin' });
  });

  it('bundle offers: at least two distinct entries of a known type, files and bytes as for a folder', () => {
    const entries = [
      { name: 'notes.txt', type: 'file' },
      { name: 'photos', type: 'folder' },
    ];
    const json =
      '{"kind":"bundle","entries":[{"name":"notes.txt","type":"file"},{"name":"photos","type":"folder"}],"size":7168,"files":4,"bytes":1500}';
    expect(parseOffer(JSON.parse(json))).toEqual({ kind: 'bundle', entries, size: 7168, files: 4, bytes: 1500 });
    expect(JSON.stringify(parseOffer(JSON.parse(json)))).toBe(json);
    const bundle = (over: object) =>
      parseOffer({ kind: 'bundle', entries, size: 7168, files: 4, bytes: 1500, ...over });
    for (const bad of [
      { entries: [entries[0]] },
      { entries: [entries[0], entries[0]] },
      { entries: [entries[0], { name: 'x', type: 'symlink' }] },
      { entries: [entries[0], { name: '', type: 'file' }] },
      { entries: Array.from({ length: 1001 }, (_, i) => ({ name: `f${i}`, type: 'file' })) },
      { entries: 'a,b' },
      { files: 0 },
      { bytes: 7169 },
    ]) {
      expect(bundle(bad), JSON.stringify(bad).slice(0, 80)).toBeInstanceOf(PortunusError);
    }
  });
});

describe('signal: a sealed envelope for the path layer', () => {
  const SDP = 'v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n';
  const CANDIDATE = 'candidate:1 1 udp 2130706431 192.0.2.7 50000 typ host';
  const golden: [SealedMessage, string][] = [
    [
      { type: 'signal', topic: 'webrtc-v1', body: { kind: 'offer', sdp: SDP } },
      `{"type":"signal","topic":"webrtc-v1","body":{"kind":"offer","sdp":${JSON.stringify(SDP)}}}`,
    ],
    [
      {
        type: 'signal',
        topic: 'webrtc-v1',
        body: canonicalSignal({
          sdpMLineIndex: 0,
          extra: 'x',
          candidate: CANDIDATE,
          kind: 'candidate',
          sdpMid: '0',
        } as never),
      },
      `{"type":"signal","topic":"webrtc-v1","body":{"kind":"candidate","candidate":"${CANDIDATE}","sdpMid":"0","sdpMLineIndex":0}}`,
    ],
    [
      {
        type: 'signal',
        topic: 'tcp-v1',
        body: encodeTcpHints([{ host: '127.0.0.1', port: 40123, family: 'IPv4' } as never]),
      },
      '{"type":"signal","topic":"tcp-v1","body":{"hints":[{"host":"127.0.0.1","port":40123}]}}',
    ],
  ];
  it.each(golden)('%j', (msg, json) => {
    expect(fromUtf8(encodeSealed(msg))).toBe(json);
    expect(parseSealed(utf8(json))).toEqual(msg);
  });

  it.each([
    ['a missing topic', { type: 'signal', body: {} }],
    ['an upper-case topic', { type: 'signal', topic: 'WEBRTC', body: {} }],
    ['a topic with spaces', { type: 'signal', topic: 'tcp v1', body: {} }],
    ['a topic over 32 characters', { type: 'signal', topic: 'x'.repeat(33), body: {} }],
    ['a missing body', { type: 'signal', topic: 'tcp-v1' }],
    [
      `a body over ${MAX_SIGNAL_BODY_BYTES} bytes`,
      { type: 'signal', topic: 'webrtc-v1', body: { sdp: 'x'.repeat(MAX_SIGNAL_BODY_BYTES) } },
    ],
  ])('rejects %s', (_, msg) => {
    const r = parseSealed(utf8(JSON.stringify(msg)));
    expect(r).toBeInstanceOf(PortunusError);
    expect((r as PortunusError).code).toBe('PROTOCOL');
  });

  it('a path or hints message is no longer part of the protocol', () => {
    expect(parseSealed(utf8('{"type":"path","transport":"relay"}'))).toBeInstanceOf(PortunusError);
    expect(parseSealed(utf8('{"type":"hints","hints":[]}'))).toBeInstanceOf(PortunusError);
  });
});

describe('WebRTC signal bodies (parseSignal, the webrtc-v1 path layer)', () => {
  const SDP = 'v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n';
  const CANDIDATE = 'candidate:1 1 udp 2130706431 192.0.2.7 50000 typ host';
  it.each([
    { kind: 'offer', sdp: SDP },
    { kind: 'answer', sdp: SDP },
    { kind: 'candidate', candidate: CANDIDATE, sdpMid: '0', sdpMLineIndex: 0 },
    { kind: 'end' },
  ])('accepts %j', (signal) => expect(parseSignal(signal)).toEqual(signal));

  it.each([
    ['an SDP over 16 KiB', { kind: 'offer', sdp: SDP + 'a=x\r\n'.repeat(3300) }],
    ['an SDP with control characters', { kind: 'offer', sdp: SDP + '\u001b[2J' }],
    ['a non-SDP description', { kind: 'answer', sdp: 'hello' }],
    ['an SDP that is not a string', { kind: 'offer', sdp: 7 }],
    [
      'a candidate without the prefix',
      { kind: 'candidate', candidate: '1 1 udp 1 1.2.3.4 5 typ host', sdpMid: '0', sdpMLineIndex: 0 },
    ],
    [
      'an oversized candidate',
      { kind: 'candidate', candidate: 'candidate:' + 'x'.repeat(600), sdpMid: '0', sdpMLineIndex: 0 },
    ],
    [
      'a candidate with a newline',
      { kind: 'candidate', candidate: CANDIDATE + '\r\na=x', sdpMid: '0', sdpMLineIndex: 0 },
    ],
    ['a candidate without sdpMid', { kind: 'candidate', candidate: CANDIDATE, sdpMLineIndex: 0 }],
    ['a negative m-line index', { kind: 'candidate', candidate: CANDIDATE, sdpMid: '0', sdpMLineIndex: -1 }],
    ['an unknown kind', { kind: 'renegotiate' }],
  ])('rejects %s', (_, signal) => expect(parseSignal(signal)).toBeUndefined());

  it('numbers the attempt from the second on, after the fields (§6.4 "Attempts"): exact bytes', () => {
    const end = { kind: 'end' } as const;
    expect(JSON.stringify(signalBody(end, 0))).toBe('{"kind":"end"}');
    expect(JSON.stringify(signalBody(end, 2))).toBe('{"kind":"end","attempt":2}');
    const offer = { kind: 'offer', sdp: SDP, extra: 'dropped' } as const;
    expect(JSON.stringify(signalBody(offer, 1))).toBe(`{"kind":"offer","sdp":${JSON.stringify(SDP)},"attempt":1}`);
    // A numbered body is still a valid signal: the number is a field parseSignal does not read.
    expect(parseSignal(signalBody(offer, 1))).toEqual({ kind: 'offer', sdp: SDP });
  });

  it('reads the attempt of a body: absent is 0; anything but an integer below MAX_WEBRTC_ATTEMPTS is refused', () => {
    expect(signalAttempt({ kind: 'end' })).toBe(0);
    expect(signalAttempt({ kind: 'end', attempt: 0 })).toBe(0);
    expect(signalAttempt({ kind: 'end', attempt: MAX_WEBRTC_ATTEMPTS - 1 })).toBe(MAX_WEBRTC_ATTEMPTS - 1);
    for (const attempt of [MAX_WEBRTC_ATTEMPTS, -1, 1.5, '1', null, 2 ** 53])
      expect(signalAttempt({ kind: 'end', attempt })).toBeUndefined();
    for (const body of ['end', [], null, 3]) expect(signalAttempt(body)).toBeUndefined();
  });
});
