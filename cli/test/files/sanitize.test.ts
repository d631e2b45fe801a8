import { describe, expect, it } from 'vitest';
import { PortunusError } from '@portunus/protocol';
import { hasUnsafeChars, quoteForTerminal, safeComponentName, sanitizeForTerminal } from '../../src/files/sanitize.js';

describe('sanitizeForTerminal', () => {
  it.each([
    ['plain name.txt', 'plain name.txt'],
    ['red\x1b[31mtext\x1b[0m', 'redtext'],
    ['cursor\x1b[2;5Hmove', 'cursormove'],
    ['title\x1b]0;pwned\x07after', 'titleafter'],
    ['title\x1b]0;pwned\x1b\\after', 'titleafter'],
    ['osc8 \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\', 'osc8 link'],
    ['dcs\x1bPq#0;2;0;0;0\x1b\\end', 'dcsend'],
    ['unterminated\x1b]0;swallows the rest', 'unterminated'],
    ['8-bit csi\x9b31mx', '8-bit csix'],
    ['8-bit osc\x9d0;t\x9cy', '8-bit oscy'],
    ['two-byte\x1bcreset', 'two-bytereset'],
    ['lone esc at end\x1b', 'lone esc at end'],
    ['nul\x00bell\x07bs\x08del\x7f', 'nulbellbsdel'],
    ['c1\x85\x8d\x9f', 'c1'],
    ['line\nbreak\ttab\rcr', 'linebreaktabcr'],
    ['bidi \u202eevil\u202c \u2066iso\u2069 \u200fmark\u061c', 'bidi evil iso mark'],
    ['sep\u2028\u2029', 'sep'],
    ['unicode ünïcødé 日本 🎉', 'unicode ünïcødé 日本 🎉'],
  ])('%j → %j', (input, expected) => {
    expect(sanitizeForTerminal(input)).toBe(expected);
  });

  it('keeps newlines and tabs when asked, still removing everything else', () => {
    expect(sanitizeForTerminal('a\nb\tc\x1b[2Jd\re', { keepNewlines: true })).toBe('a\nb\tcde');
  });

  it('leaves no ESC, C1 or bidi control in the output of hostile input', () => {
    let hostile = '';
    for (let c = 0; c < 0xa0; c++) hostile += String.fromCharCode(c) + 'x';
    hostile += '\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069';
    expect(hasUnsafeChars(sanitizeForTerminal(hostile))).toBe(false);
  });
});

describe('quoteForTerminal', () => {
  it('shows unsafe characters as visible escapes', () => {
    expect(quoteForTerminal('a\x1b[31mb"\\')).toBe('"a\\u{1b}[31mb\\"\\\\"');
    expect(quoteForTerminal('\u202e')).toBe('"\\u{202e}"');
  });

  it('cuts long names', () => {
    expect(quoteForTerminal('x'.repeat(10), 4)).toBe('"xxxx…"');
  });
});

describe('safeComponentName', () => {
  it.each(['report.pdf', 'my photos', 'ünïcødé 日本', '.hidden', '..dots', 'at 12.30.txt', 'x'.repeat(255)])(
    'accepts %j',
    (name) => {
      expect(safeComponentName(name)).toBe(name);
    },
  );

  it.each([
    ['', 'empty'],
    ['.', 'dot'],
    ['..', 'dotdot'],
    ['a/b', 'slash'],
    ['a\\b', 'backslash'],
    ['a\0b', 'NUL'],
    ['red\x1b[31m', 'ESC'],
    ['new\nline', 'newline'],
    ['evil\u202etxt.exe', 'bidi override'],
    ['C:evil', 'drive letter'],
    ['at 12:30.txt', 'a colon, which Windows does not allow (portable-name.test.ts has the whole rule)'],
    ['aux.c', 'a Windows device name'],
    ['\ud800lone', 'lone surrogate'],
    ['x'.repeat(256), 'too long'],
    ['é'.repeat(128), 'too long in bytes'],
  ])('rejects %j (%s) with UNSAFE_PATH', (name) => {
    const result = safeComponentName(name);
    expect(result).toBeInstanceOf(PortunusError);
    expect((result as PortunusError).code).toBe('UNSAFE_PATH');
    expect((result as PortunusError).message).not.toMatch(/[\x00-\x1f\u202e]/);
  });
});
