import { describe, expect, it } from 'vitest';
import { PortunusError } from '@portunus/protocol';
import { parseFileOffer } from '../../src/files/offer.js';

function code(value: unknown): string | undefined {
  const result = parseFileOffer(value);
  return result instanceof PortunusError ? result.code : undefined;
}

describe('parseOffer (file layer)', () => {
  it('accepts each kind and drops unknown fields', () => {
    expect(parseFileOffer({ kind: 'file', name: 'a.txt', size: 3, mode: 0o755, extra: 1 })).toEqual({
      kind: 'file',
      name: 'a.txt',
      size: 3,
      mode: 0o755,
    });
    expect(parseFileOffer({ kind: 'file', name: 'a.txt', size: 0 })).toEqual({ kind: 'file', name: 'a.txt', size: 0 });
    expect(parseFileOffer({ kind: 'folder', name: 'photos', size: 3072, files: 1, bytes: 10 })).toEqual({
      kind: 'folder',
      name: 'photos',
      size: 3072,
      files: 1,
      bytes: 10,
    });
    expect(parseFileOffer({ kind: 'stream', name: 'stdin' })).toEqual({ kind: 'stream', name: 'stdin' });
    expect(parseFileOffer({ kind: 'text', text: 'hi\nthere' })).toEqual({ kind: 'text', text: 'hi\nthere' });
  });

  it.each([
    [{ kind: 'file', name: '../etc/passwd', size: 1 }, 'UNSAFE_PATH'],
    [{ kind: 'file', name: '..', size: 1 }, 'UNSAFE_PATH'],
    [{ kind: 'file', name: 'red\x1b[31m', size: 1 }, 'UNSAFE_PATH'],
    [{ kind: 'stream', name: 'a\\b' }, 'UNSAFE_PATH'],
    [{ kind: 'folder', name: '/abs', size: 5000, files: 0, bytes: 0 }, 'UNSAFE_PATH'],
    [{ kind: 'file', name: 'a', size: 1, mode: 0o4755 }, 'PROTOCOL'],
    [{ kind: 'file', name: 'a', size: 1, mode: 0o600 }, 'PROTOCOL'],
    [{ kind: 'file', name: 'a', size: -1 }, 'PROTOCOL'],
    [{ kind: 'file', name: 'a', size: 1.5 }, 'PROTOCOL'],
    [{ kind: 'file', name: 'a', size: '1' }, 'PROTOCOL'],
    [{ kind: 'file', name: 'a', size: 2 ** 53 }, 'PROTOCOL'],
    [{ kind: 'folder', name: 'f', size: 1535, files: 0, bytes: 0 }, 'PROTOCOL'],
    [{ kind: 'folder', name: 'f', size: 2047, files: 1, bytes: 0 }, 'PROTOCOL'],
    [{ kind: 'folder', name: 'f', size: 10_000, files: 1, bytes: 20_000 }, 'PROTOCOL'],
    [{ kind: 'text', text: 'x'.repeat(64 * 1024 + 1) }, 'PROTOCOL'],
    [{ kind: 'text', text: 'é'.repeat(32 * 1024 + 1) }, 'PROTOCOL'],
    [{ kind: 'directory', name: 'a' }, 'PROTOCOL'],
    [null, 'PROTOCOL'],
    [[], 'PROTOCOL'],
  ])('rejects %j with %s', (value, expected) => {
    expect(code(value)).toBe(expected);
  });
});
