import { describe, expect, it } from 'vitest';
import { encodeClientMessage, encodeRelayMessage } from '../src/relay-encode.js';
import {
  isBase64Url,
  isParseError,
  parseClientMessage,
  parseRelayMessage,
  type ClientToRelay,
  type RelayToClient,
} from '../src/relay-messages.js';
import { isIceUrl, MAX_ICE_SERVERS } from '../src/ice-server.js';
import { fromBase64Url, toBase64Url } from '../src/bytes.js';

const SID = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
/** base64url of 32 bytes, as keys.ts derives a reconnect id. */
const RECONNECT_ID = toBase64Url(Uint8Array.from({ length: 32 }, (_, i) => i * 7));
/** base64url of a 16-byte seat token. */
const TOKEN = toBase64Url(Uint8Array.from({ length: 16 }, (_, i) => i * 5));

/** Every message with its exact wire JSON (PROTOCOL.md §2.2 lists the same lines). */
const CLIENT_GOLDEN: [ClientToRelay, string][] = [
  [{ type: 'hello', protocol: 1, agent: 'portunus/0.1.0' }, '{"type":"hello","protocol":1,"agent":"portunus/0.1.0"}'],
  [{ type: 'allocate' }, '{"type":"allocate"}'],
  [{ type: 'allocate', seats: 3 }, '{"type":"allocate","seats":3}'],
  [{ type: 'claim', nameplate: 42 }, '{"type":"claim","nameplate":42}'],
  [{ type: 'join', nameplate: 7, token: TOKEN }, `{"type":"join","nameplate":7,"token":"${TOKEN}"}`],
  [{ type: 'reconnect', id: RECONNECT_ID }, `{"type":"reconnect","id":"${RECONNECT_ID}"}`],
  [{ type: 'msg', body: 'aGVsbG8' }, '{"type":"msg","body":"aGVsbG8"}'],
  [{ type: 'pipe' }, '{"type":"pipe"}'],
  [{ type: 'burn' }, '{"type":"burn"}'],
  [{ type: 'done', ok: true }, '{"type":"done","ok":true}'],
  [{ type: 'done', ok: false }, '{"type":"done","ok":false}'],
  [{ type: 'ping' }, '{"type":"ping"}'],
];

const RELAY_GOLDEN: [RelayToClient, string][] = [
  [
    { type: 'welcome', protocol: 1, relay: 'portunus-relay' },
    '{"type":"welcome","protocol":1,"relay":"portunus-relay"}',
  ],
  [
    { type: 'welcome', protocol: 1, relay: 'r', motd: 'be nice' },
    '{"type":"welcome","protocol":1,"relay":"r","motd":"be nice"}',
  ],
  [
    { type: 'welcome', protocol: 1, relay: 'portunus-relay', page: true },
    '{"type":"welcome","protocol":1,"relay":"portunus-relay","page":true}',
  ],
  [
    { type: 'welcome', protocol: 1, relay: 'r', motd: 'be nice', page: true },
    '{"type":"welcome","protocol":1,"relay":"r","motd":"be nice","page":true}',
  ],
  [{ type: 'allocated', nameplate: 7 }, '{"type":"allocated","nameplate":7}'],
  [{ type: 'allocated', nameplate: 7, token: TOKEN }, `{"type":"allocated","nameplate":7,"token":"${TOKEN}"}`],
  [{ type: 'claimed', nameplate: 7, side: 'a' }, '{"type":"claimed","nameplate":7,"side":"a"}'],
  [{ type: 'claimed', nameplate: 7, side: 'b' }, '{"type":"claimed","nameplate":7,"side":"b"}'],
  [{ type: 'paired', sid: SID, side: 'b' }, '{"type":"paired","sid":"ABEiM0RVZneImaq7zN3u_w","side":"b"}'],
  [{ type: 'reconnected', sid: SID }, '{"type":"reconnected","sid":"ABEiM0RVZneImaq7zN3u_w"}'],
  [{ type: 'msg', body: 'AAEC' }, '{"type":"msg","body":"AAEC"}'],
  [{ type: 'pipe-open' }, '{"type":"pipe-open"}'],
  [{ type: 'unpaired' }, '{"type":"unpaired"}'],
  [{ type: 'peer-left' }, '{"type":"peer-left"}'],
  [{ type: 'peer-left', lost: true }, '{"type":"peer-left","lost":true}'],
  [{ type: 'pong' }, '{"type":"pong"}'],
  [
    { type: 'error', code: 'NAMEPLATE_IN_USE', message: 'nameplate in use' },
    '{"type":"error","code":"NAMEPLATE_IN_USE","message":"nameplate in use"}',
  ],
];

describe('relay messages: golden JSON', () => {
  it.each(CLIENT_GOLDEN)('encodes and parses client message %j', (msg, json) => {
    expect(encodeClientMessage(msg)).toBe(json);
    expect(parseClientMessage(json)).toEqual(msg);
  });

  it.each(RELAY_GOLDEN)('encodes and parses relay message %j', (msg, json) => {
    expect(encodeRelayMessage(msg)).toBe(json);
    expect(parseRelayMessage(json)).toEqual(msg);
  });

  it('drops properties that are not part of the message when encoding', () => {
    const msg = { type: 'msg', body: 'AA', secret: 'x' } as unknown as ClientToRelay;
    expect(encodeClientMessage(msg)).toBe('{"type":"msg","body":"AA"}');
  });

  it('reads one seat as a plain allocate (the wire of a single send never changes)', () => {
    expect(parseClientMessage('{"type":"allocate","seats":1}')).toEqual({ type: 'allocate' });
    expect(encodeClientMessage({ type: 'allocate', seats: 1 })).toBe('{"type":"allocate"}');
  });

  it('ignores unknown fields when parsing', () => {
    expect(parseClientMessage('{"extra":[1,2],"type":"claim","nameplate":3,"more":{}}')).toEqual({
      type: 'claim',
      nameplate: 3,
    });
    expect(parseRelayMessage('{"type":"pipe-open","x":1}')).toEqual({ type: 'pipe-open' });
  });
});

describe('relay messages: rejections', () => {
  const cases: [string, string][] = [
    ['', 'invalid-json'],
    ['{', 'invalid-json'],
    ['nul', 'invalid-json'],
    ['[]', 'not-object'],
    ['null', 'not-object'],
    ['42', 'not-object'],
    ['"hello"', 'not-object'],
    ['{}', 'unknown-type'],
    ['{"type":"welcome","protocol":1,"relay":"r"}', 'unknown-type'],
    ['{"type":7}', 'unknown-type'],
    ['{"type":"unpaired"}', 'unknown-type'],
    ['{"type":"pong"}', 'unknown-type'],
    ['{"__proto__":{"type":"allocate"}}', 'unknown-type'],
    ['{"type":"hello","protocol":"1","agent":"a"}', 'invalid-field'],
    ['{"type":"hello","protocol":1.5,"agent":"a"}', 'invalid-field'],
    ['{"type":"hello","protocol":1}', 'invalid-field'],
    ['{"type":"hello","protocol":1,"agent":""}', 'invalid-field'],
    ['{"type":"hello","protocol":1,"agent":"a\\u001b[2J"}', 'invalid-field'],
    [`{"type":"hello","protocol":1,"agent":"${'a'.repeat(65)}"}`, 'invalid-field'],
    ['{"type":"claim"}', 'invalid-field'],
    ['{"type":"claim","nameplate":0}', 'invalid-field'],
    ['{"type":"claim","nameplate":-1}', 'invalid-field'],
    ['{"type":"claim","nameplate":1e300}', 'invalid-field'],
    ['{"type":"claim","nameplate":9007199254740993}', 'invalid-field'],
    ['{"type":"claim","nameplate":"12"}', 'invalid-field'],
    ['{"type":"claim","nameplate":[1]}', 'invalid-field'],
    ['{"type":"msg"}', 'invalid-field'],
    ['{"type":"msg","body":5}', 'invalid-field'],
    ['{"type":"msg","body":"a+b/"}', 'invalid-field'],
    ['{"type":"msg","body":"AAE="}', 'invalid-field'],
    ['{"type":"msg","body":"A"}', 'invalid-field'],
    ['{"type":"msg","body":"AB"}', 'invalid-field'],
    ['{"type":"allocate","seats":0}', 'invalid-field'],
    ['{"type":"allocate","seats":21}', 'invalid-field'],
    ['{"type":"allocate","seats":2.5}', 'invalid-field'],
    ['{"type":"allocate","seats":"3"}', 'invalid-field'],
    ['{"type":"join","nameplate":7}', 'invalid-field'],
    ['{"type":"join","nameplate":7,"token":"AAAA"}', 'invalid-field'],
    [`{"type":"join","nameplate":0,"token":"${TOKEN}"}`, 'invalid-field'],
    ['{"type":"done"}', 'invalid-field'],
    ['{"type":"done","ok":"true"}', 'invalid-field'],
  ];

  it.each(cases)('client message %s → %s', (text, reason) => {
    const result = parseClientMessage(text);
    expect(isParseError(result)).toBe(true);
    expect(result).toMatchObject({ type: 'parse-error', reason });
  });

  it('never quotes the input in an error detail', () => {
    const result = parseClientMessage('{"type":"SECRET-TYPE\\n","body":"x"}');
    expect(result).toMatchObject({ reason: 'unknown-type' });
    expect(JSON.stringify(result)).not.toContain('SECRET');
  });

  it('validates relay messages', () => {
    expect(parseRelayMessage('{"type":"paired","sid":"AAAA","side":"a"}')).toMatchObject({ reason: 'invalid-field' });
    expect(parseRelayMessage(`{"type":"paired","sid":"${toBase64Url(SID)}","side":"c"}`)).toMatchObject({
      reason: 'invalid-field',
    });
    expect(parseRelayMessage('{"type":"claimed","nameplate":3,"side":"x"}')).toMatchObject({ reason: 'invalid-field' });
    expect(
      parseRelayMessage('{"type":"welcome","protocol":1,"relay":"r","motd":"\\u001b]0;pwned\\u0007"}'),
    ).toMatchObject({
      reason: 'invalid-field',
    });
    expect(parseRelayMessage('{"type":"hello","protocol":1,"agent":"a"}')).toMatchObject({ reason: 'unknown-type' });
  });

  it('reads the welcome page flag: true, false (as absent), anything else invalid', () => {
    expect(parseRelayMessage('{"type":"welcome","protocol":1,"relay":"r","page":false}')).toEqual({
      type: 'welcome',
      protocol: 1,
      relay: 'r',
    });
    for (const page of ['"true"', '1', 'null', '{}']) {
      expect(parseRelayMessage(`{"type":"welcome","protocol":1,"relay":"r","page":${page}}`)).toMatchObject({
        reason: 'invalid-field',
        detail: 'invalid welcome.page',
      });
    }
    const noPage = { type: 'welcome', protocol: 1, relay: 'r', page: false } as unknown as RelayToClient;
    expect(encodeRelayMessage(noPage)).toBe('{"type":"welcome","protocol":1,"relay":"r"}');
  });

  it('maps unknown relay error codes to RELAY_PROTOCOL and sanitises their text', () => {
    const long = 'x'.repeat(500);
    const parsed = parseRelayMessage(`{"type":"error","code":"NEW_THING","message":"a\\u001bb${long}"}`);
    expect(parsed).toMatchObject({ type: 'error', code: 'RELAY_PROTOCOL' });
    const message = (parsed as { message: string }).message;
    expect(message.startsWith('a?b')).toBe(true);
    expect(message.length).toBe(200);
  });
});

describe('isBase64Url', () => {
  it('accepts exactly the canonical encodings', () => {
    for (let len = 0; len < 40; len++) {
      const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 97 + len) & 0xff);
      const text = toBase64Url(bytes);
      expect(isBase64Url(text)).toBe(true);
      expect(fromBase64Url(text)).toEqual(bytes);
    }
    // Same check as the strict decoder for every one- and two-character tail.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.';
    for (const x of alphabet) {
      for (const y of alphabet) {
        for (const text of [`${x}${y}`, `AA${x}${y}`.slice(0, 3), `AAAA${x}`]) {
          expect(isBase64Url(text), text).toBe(fromBase64Url(text) !== undefined);
        }
      }
    }
  });
});

describe('relay messages: robustness', () => {
  it('never throws on random or mutated input', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const samples = [...CLIENT_GOLDEN, ...RELAY_GOLDEN].map(([, json]) => json);
    const pieces = ['"', '{', '}', '[', ']', ',', ':', '1e999', '-0', 'null', 'true', '"type"', '"msg"', '\\u0000'];
    let errors = 0;
    for (let i = 0; i < 10_000; i++) {
      const base = samples[rand(samples.length)]!;
      const at = rand(base.length + 1);
      const text =
        rand(4) === 0
          ? String.fromCharCode(...Array.from({ length: rand(40) }, () => rand(0x10000)))
          : base.slice(0, at) + pieces[rand(pieces.length)]! + base.slice(at + rand(3));
      const a = parseClientMessage(text);
      const b = parseRelayMessage(text);
      if (isParseError(a)) errors++;
      if (isParseError(b)) errors++;
    }
    expect(errors).toBeGreaterThan(10_000);
  });
});

describe('paired: the ICE servers a relay offers (optional `ice`)', () => {
  const STUN = { urls: 'stun:198.18.0.1:3478' };
  const TURN = { urls: 'turn:turn.example.org:3478?transport=tcp', username: 'portunus', credential: 's3cret' };

  it('encodes and parses the field, and leaves it out when empty', () => {
    const msg: RelayToClient = { type: 'paired', sid: SID, side: 'a', ice: [STUN, TURN] };
    const json =
      '{"type":"paired","sid":"ABEiM0RVZneImaq7zN3u_w","side":"a","ice":[{"urls":"stun:198.18.0.1:3478"},' +
      '{"urls":"turn:turn.example.org:3478?transport=tcp","username":"portunus","credential":"s3cret"}]}';
    expect(encodeRelayMessage(msg)).toBe(json);
    expect(parseRelayMessage(json)).toEqual(msg);
    expect(encodeRelayMessage({ type: 'paired', sid: SID, side: 'a', ice: [] })).toBe(
      '{"type":"paired","sid":"ABEiM0RVZneImaq7zN3u_w","side":"a"}',
    );
  });

  it.each([
    ['not a list', '"stun:x"'],
    ['too many servers', JSON.stringify(Array.from({ length: MAX_ICE_SERVERS + 1 }, () => STUN))],
    ['a URL of another scheme', '[{"urls":"http://x"}]'],
    ['a URL with a path', '[{"urls":"stun:host/x"}]'],
    ['a port over 65535', '[{"urls":"stun:host:70000"}]'],
    ['a transport on STUN', '[{"urls":"stun:host?transport=tcp"}]'],
    ['TURN without credentials', '[{"urls":"turn:host"}]'],
    ['STUN with credentials', '[{"urls":"stun:host","username":"u","credential":"p"}]'],
    ['a control character in a credential', '[{"urls":"turn:host","username":"u","credential":"p\\u0007"}]'],
  ])('rejects %s', (_, ice) => {
    const r = parseRelayMessage(`{"type":"paired","sid":"ABEiM0RVZneImaq7zN3u_w","side":"a","ice":${ice}}`);
    expect(isParseError(r) && r.detail).toBe('invalid paired.ice');
  });

  it.each([
    'stun:stun.example.org',
    'stuns:[2001:db8::1]:5349',
    'turn:192.0.2.1:3478?transport=udp',
    'turns:t.example.org:443?transport=tcp',
  ])('accepts the ICE URL %s', (url) => expect(isIceUrl(url)).toBe(true));
});

describe('reconnect (PROTOCOL.md §2.13)', () => {
  it('takes only canonical base64url of exactly 32 bytes as the id', () => {
    const ok = parseClientMessage(`{"type":"reconnect","id":"${RECONNECT_ID}"}`);
    expect(ok).toEqual({ type: 'reconnect', id: RECONNECT_ID });
    const short = toBase64Url(new Uint8Array(31));
    const long = toBase64Url(new Uint8Array(33));
    for (const id of [short, long, RECONNECT_ID.slice(0, -1) + 'B', `${RECONNECT_ID}=`, 42, null, undefined]) {
      const parsed = parseClientMessage(JSON.stringify({ type: 'reconnect', id }));
      expect(isParseError(parsed) && parsed.detail, String(id)).toBe('invalid reconnect.id');
    }
  });

  it('takes a 16-byte sid in reconnected, and only a boolean lost in peer-left', () => {
    expect(isParseError(parseRelayMessage('{"type":"reconnected","sid":"AAEC"}'))).toBe(true);
    expect(isParseError(parseRelayMessage('{"type":"reconnected"}'))).toBe(true);
    expect(parseRelayMessage('{"type":"peer-left","lost":false}')).toEqual({ type: 'peer-left' });
    expect(isParseError(parseRelayMessage('{"type":"peer-left","lost":1}'))).toBe(true);
  });
});
