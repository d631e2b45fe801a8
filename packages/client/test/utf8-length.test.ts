import { describe, expect, it } from 'vitest';
import { utf8Length } from '../src/utf8-length.js';

describe('utf8Length', () => {
  it.each(['', 'ascii', 'é', '日本', '😀', 'a\ud800b', '\udc00', '\ud83d', 'x'.repeat(300) + '€'])(
    'is Buffer.byteLength for %j (lone surrogates count as U+FFFD)',
    (s) => {
      expect(utf8Length(s)).toBe(Buffer.byteLength(s, 'utf8'));
      expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
    },
  );
});
