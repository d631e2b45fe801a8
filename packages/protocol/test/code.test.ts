import { describe, expect, it } from 'vitest';
import {
  CROCKFORD_ALPHABET,
  codeUri,
  formatCode,
  generateSecret,
  normalizeCode,
  parseCode,
  secretLengthFor,
  type Code,
} from '../src/code.js';
import { MAX_SEATS } from '../src/relay-messages.js';
import { PortunusError } from '../src/errors.js';

function seq(values: number[]) {
  return (n: number) => Uint8Array.from(values.slice(0, n));
}

function parsed(input: string): Code {
  const r = parseCode(input);
  if (r instanceof PortunusError) throw r;
  return r;
}

function parseError(input: string): PortunusError {
  const r = parseCode(input);
  expect(r).toBeInstanceOf(PortunusError);
  return r as PortunusError;
}

describe('secretLengthFor (PROTOCOL.md §1.4: N guesses)', () => {
  it('keeps the default for one guess and adds a symbol per 32-fold of guesses', () => {
    expect(secretLengthFor(1)).toBe(6);
    expect(secretLengthFor(2)).toBe(7);
    expect(secretLengthFor(MAX_SEATS)).toBe(7);
    expect(secretLengthFor(33)).toBe(8);
  });

  it('keeps the success chance of every seat count at or below 2^-30', () => {
    for (let n = 1; n <= MAX_SEATS; n++) expect(n * 2 ** (-5 * secretLengthFor(n))).toBeLessThanOrEqual(2 ** -30);
  });
});

describe('code format', () => {
  it('displays the secret in groups of three and normalizes without them', () => {
    const code = { nameplate: 7, secret: 'H7K29A' };
    expect(formatCode(code)).toBe('7-H7K-29A');
    expect(normalizeCode(code)).toBe('7-H7K29A');
    expect(codeUri(code)).toBe('portunus:7-H7K-29A');
    expect(formatCode({ nameplate: 12, secret: 'ABCDEFGH' })).toBe('12-ABC-DEF-GH');
  });

  it('draws each symbol from 5 random bits, with the length as a parameter', () => {
    expect(generateSecret(seq([0, 1, 31, 32, 255, 17]))).toBe('01Z0ZH');
    expect(generateSecret(seq(Array.from({ length: 10 }, (_, i) => i)), 10)).toBe('0123456789');
    expect(() => generateSecret(seq([1, 2, 3]), 3)).toThrow(PortunusError);
  });

  it('round-trips random codes through display and parse', () => {
    for (let i = 0; i < 500; i++) {
      const secret = generateSecret((n) => crypto.getRandomValues(new Uint8Array(n)), 6 + (i % 7));
      const code = { nameplate: 1 + i * 37, secret };
      expect(parsed(formatCode(code))).toEqual(code);
      expect(parsed(codeUri(code))).toEqual(code);
      expect(parsed(formatCode(code).toLowerCase())).toEqual(code);
    }
  });

  it('only uses the Crockford alphabet', () => {
    expect(CROCKFORD_ALPHABET).toHaveLength(32);
    expect(CROCKFORD_ALPHABET).not.toMatch(/[ILOU]/);
  });
});

describe('parseCode is forgiving about spelling', () => {
  it.each([
    ['7-H7K-29A', 'H7K29A'],
    ['7-h7k-29a', 'H7K29A'],
    ['  7 H7K 29A ', 'H7K29A'],
    ['7_H7K_29A', 'H7K29A'],
    ['7-H7K29A', 'H7K29A'],
    ['7--H7K - 29A', 'H7K29A'],
    ['7-HOK-2IL', 'H0K211'],
    ['7-hok-2il', 'H0K211'],
    ['PORTUNUS:7-H7K-29A', 'H7K29A'],
  ])('%s', (input, secret) => {
    expect(parsed(input)).toEqual({ nameplate: 7, secret });
  });

  it('gives two spellings of one code the same normalized form', () => {
    expect(normalizeCode(parsed('7 hok 2il'))).toBe(normalizeCode(parsed('7-H0K-211')));
  });
});

describe('parseCode is exact about content', () => {
  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['H7K-29A', /starts with a number/],
    ['7H7K29A', /followed by a dash/],
    ['7', /followed by a dash/],
    ['0-H7K-29A', /between 1 and/],
    ['1234567-H7K-29A', /between 1 and/],
    ['7-H7K-29U', /'U'/],
    ['7-H7K-29!', /'!'/],
    ['7-H7K-2\u00e9A', /U\+00E9/],
    ['7-H7K-2\u001b[31mA', /U\+001B/],
    ['7-H7K-29', /too short/],
    ['7-' + 'A'.repeat(27), /too long/],
  ])('%j → BAD_CODE', (input, message) => {
    const err = parseError(input);
    expect(err.code).toBe('BAD_CODE');
    expect(err.message).toMatch(message);
  });
});
