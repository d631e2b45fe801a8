import { statfs } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { checkFreeSpace, FREE_SPACE_MARGIN, spaceNeeded } from '../../src/files/free-space.js';
import { portunusError, tempDir } from './fixtures.js';
import { exitCodeOf } from '../../src/ui/error-guide.js';

describe('spaceNeeded: the offered size, a block per file for its last partial block, and the margin', () => {
  it('a file', () => {
    expect(spaceNeeded({ kind: 'file', name: 'a', size: 10_000 }, 4096)).toBe(10_000 + 4096 + FREE_SPACE_MARGIN);
  });

  it('a folder: its tar length, one block per file and one for the folder itself', () => {
    const offer = { kind: 'folder' as const, name: 'p', size: 20_480, files: 3, bytes: 1200 };
    expect(spaceNeeded(offer, 4096)).toBe(20_480 + 4 * 4096 + FREE_SPACE_MARGIN);
  });
});

describe('checkFreeSpace asks the real file system (statfs)', () => {
  it('refuses with DISK_FULL, naming both figures, what cannot fit; accepts what can', async () => {
    const { path, cleanup } = await tempDir('free-space');
    try {
      const { bavail, bsize } = await statfs(path);
      const room = bavail * bsize;
      const err = await portunusError(checkFreeSpace(path, { kind: 'file', name: 'huge', size: 2 * room }));
      expect(err.code).toBe('DISK_FULL');
      expect(exitCodeOf(err)).toBe(8);
      expect(err.message).toMatch(/needed, .* free/);
      await expect(checkFreeSpace(path, { kind: 'file', name: 'small', size: 1 })).resolves.toBeUndefined();
      // A partial to resume (PROTOCOL.md §4.12) already holds most of it: only the rest needs room.
      const big = { kind: 'file' as const, name: 'big', size: room + 1 };
      await expect(checkFreeSpace(path, big, room / 2)).resolves.toBeUndefined();
    } finally {
      await cleanup();
    }
  });
});
