/**
 * Generators of hostile client traffic for the relay fuzz test: random bytes, mutated valid messages, wrong
 * field types, huge numbers, deep nesting, binary frames at the wrong time, valid messages in random order.
 * Everything is drawn from a seeded PRNG so a failing run can be replayed from its seed.
 */

export type Frame =
  { kind: 'text'; data: string } | { kind: 'bytes-as-text'; data: Buffer } | { kind: 'binary'; data: Buffer };

/** Small, fast, seeded PRNG (mulberry32). */
export function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) >>> 0;
  };
}

const NAMEPLATES = [1, 2, 3, 4, 5, 7, 11, 999_999];

function validMessage(rand: (n: number) => number): unknown {
  const choices: unknown[] = [
    { type: 'hello', protocol: 1, agent: 'fuzz/1' },
    { type: 'allocate' },
    { type: 'claim', nameplate: NAMEPLATES[rand(NAMEPLATES.length)] },
    // Seats (PROTOCOL.md §2.4): counts in and out of range, and joins whose token is wrong (the relay's is random).
    { type: 'allocate', seats: rand(22) },
    { type: 'join', nameplate: NAMEPLATES[rand(NAMEPLATES.length)], token: 'A'.repeat(22) },
    { type: 'msg', body: Buffer.from(`m${rand(1000)}`).toString('base64url') },
    { type: 'pipe' },
    { type: 'burn' },
    { type: 'done', ok: rand(2) === 0 },
    { type: 'ping' },
  ];
  return choices[rand(choices.length)];
}

const WRONG_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  -0,
  1e308,
  -1e308,
  2 ** 53 + 2,
  1e-7,
  '',
  '1',
  'x'.repeat(300),
  [],
  [1],
  {},
  { a: 1 },
  '\u0000',
  '\ud800',
  'aGVsbG8=',
  'a+b/',
];

function wrongTypes(rand: (n: number) => number): unknown {
  const type = ['hello', 'allocate', 'claim', 'msg', 'pipe', 'burn', 'done', 'welcome', 'paired', 'error', '', 'HELLO'][
    rand(12)
  ];
  const value = WRONG_VALUES[rand(WRONG_VALUES.length)];
  const field = ['protocol', 'agent', 'nameplate', 'body', 'ok', 'type'][rand(6)]!;
  return { type, [field]: value };
}

function mutate(text: string, rand: (n: number) => number): string {
  const at = rand(text.length + 1);
  const pieces = ['"', '{', '}', '[', ']', ',', ':', '\\', '1e999', 'null', '\u0000', '\ud83d', '💥'];
  switch (rand(3)) {
    case 0:
      return text.slice(0, at) + pieces[rand(pieces.length)]! + text.slice(at);
    case 1:
      return text.slice(0, at) + text.slice(at + 1 + rand(4));
    default:
      return text.slice(0, at) + String.fromCharCode(rand(0x10000)) + text.slice(at + 1);
  }
}

function randomBytes(rand: (n: number) => number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = rand(256);
  return out;
}

/** One hostile (or occasionally valid) frame. `maxMessage` is the relay's text limit, to probe just above it. */
export function fuzzFrame(rand: (n: number) => number, maxMessage: number): Frame {
  switch (rand(12)) {
    case 0:
      return { kind: 'bytes-as-text', data: randomBytes(rand, rand(200)) };
    case 1:
      return { kind: 'text', data: String.fromCharCode(...Array.from({ length: rand(100) }, () => 32 + rand(95))) };
    case 2:
    case 3:
      return { kind: 'text', data: mutate(JSON.stringify(validMessage(rand)), rand) };
    case 4:
    case 5:
      return { kind: 'text', data: JSON.stringify(wrongTypes(rand)) };
    case 6:
      return { kind: 'binary', data: randomBytes(rand, rand(3) === 0 ? maxMessage + 1 + rand(100) : rand(500)) };
    case 7:
      return { kind: 'text', data: `{"type":"msg","body":"${'A'.repeat(maxMessage)}"}` };
    case 8: {
      const depth = 1 + rand(5000);
      return { kind: 'text', data: '['.repeat(depth) + ']'.repeat(depth) };
    }
    case 9:
      return {
        kind: 'text',
        data: [
          '{"__proto__":{"type":"hello"}}',
          '{"constructor":{"prototype":{"type":"pipe"}}}',
          '{"type":"claim","nameplate":1e21}',
          '{"type":"claim","nameplate":99999999999999999999}',
        ][rand(4)]!,
      };
    default:
      return { kind: 'text', data: JSON.stringify(validMessage(rand)) };
  }
}

/** A session: usually starts with a valid hello (to reach deeper states), then a random sequence. */
export function fuzzSession(rand: (n: number) => number, maxMessage: number): Frame[] {
  const frames: Frame[] = [];
  if (rand(10) < 7)
    frames.push({
      kind: 'text',
      data: JSON.stringify({ type: 'hello', protocol: rand(10) === 0 ? 2 : 1, agent: 'fuzz/1' }),
    });
  if (rand(2) === 0)
    frames.push({
      kind: 'text',
      data: JSON.stringify({ type: 'claim', nameplate: NAMEPLATES[rand(NAMEPLATES.length)] }),
    });
  const length = 1 + rand(12);
  for (let i = 0; i < length; i++) frames.push(fuzzFrame(rand, maxMessage));
  return frames;
}
