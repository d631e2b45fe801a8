import { describe, expect, it } from 'vitest';
import { PortunusError } from '@portunus/protocol';
import { checkEntryName, checkLinkTarget, entryKind } from '../../src/files/entry-check.js';

describe('checkEntryName', () => {
  it.each([
    ['photos/', 'directory', []],
    ['photos', 'directory', []],
    ['photos/a/b/', 'directory', ['a', 'b']],
    ['photos/a/b.txt', 'file', ['a', 'b.txt']],
    ['photos/..dots/.hidden', 'file', ['..dots', '.hidden']],
    ['photos/日本 🎉', 'symlink', ['日本 🎉']],
  ] as const)('%s (%s) → %j', (name, kind, parts) => {
    expect(checkEntryName(name, 'photos', kind)).toEqual(parts);
  });

  it.each([
    ['photos/a/', 'file'],
    ['photos/a//', 'directory'],
    ['photosx/a', 'file'],
    ['Photos/a', 'file'],
    ['./photos/a', 'file'],
    ['', 'directory'],
  ] as const)('refuses %j (%s)', (name, kind) => {
    expect(checkEntryName(name, 'photos', kind)).toBeInstanceOf(PortunusError);
  });
});

describe('checkLinkTarget: relative, normalized, no higher than the top-level folder', () => {
  const at = (path: string): string[] => path.split('/');
  it.each([
    ['l', '.'],
    ['l', 'a'],
    ['l', 'a/b/c'],
    ['d/l', '..'],
    ['d/l', '../x/y'],
    ['d/e/l', '../..'],
    ['d/e/l', '../../x'],
  ])('accepts %s -> %s', (link, target) => {
    expect(checkLinkTarget(`photos/${link}`, target, at(link))).toBeUndefined();
  });

  it.each([
    ['l', ''],
    ['l', '..'],
    ['l', '../x'],
    ['d/l', '../..'],
    ['d/l', '/etc'],
    ['d/l', 'a/../b'],
    ['d/l', 'a/./b'],
    ['d/l', './a'],
    ['d/l', 'a//b'],
    ['d/l', 'a/'],
    ['d/l', 'a\\b'],
    ['d/l', 'a\0b'],
    ['d/l', 'a\x1b[31m'],
    ['d/l', 'C:/x'],
    ['d/l', 'x'.repeat(256)],
  ])('refuses %s -> %j', (link, target) => {
    const err = checkLinkTarget(`photos/${link}`, target, at(link));
    expect(err).toBeInstanceOf(PortunusError);
    expect(err!.code).toBe('UNSAFE_PATH');
  });
});

describe('entryKind', () => {
  it('accepts files, folders and symlinks only', () => {
    expect(entryKind('x', 'file')).toBe('file');
    expect(entryKind('x', 'directory')).toBe('directory');
    expect(entryKind('x', 'symlink')).toBe('symlink');
    for (const type of ['link', 'character-device', 'block-device', 'fifo', 'contiguous-file', null, undefined]) {
      expect(entryKind('x', type)).toBeInstanceOf(PortunusError);
    }
  });
});
