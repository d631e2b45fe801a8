import { describe, expect, it } from 'vitest';
import { TAR_END_SIZE, tarEntrySize, tarHeaderSize } from '../../src/files/tar-size.js';
import { buildTar, type TarItem } from './fixtures.js';

const seg = (n: number, c = 'a'): string => c.repeat(n);

/** Names around every boundary of tar-stream's ustar/pax decision and of the pax record's length digits. */
const NAMES: string[] = [
  'root/',
  'root/file.txt',
  `root/${seg(95)}`, // exactly 100
  `root/${seg(96)}`, // 101, splits at the first '/'
  seg(101), // no '/' to split on → pax
  `${seg(150)}/${seg(99)}`, // prefix 150, name 99: ustar
  `${seg(156)}/${seg(99)}`, // prefix too long → pax
  `a/${seg(160)}/b/${seg(90)}`, // greedy split leaves a prefix over 155 → pax
  'root/ünïcødé.txt', // any non-ASCII → pax
  'root/日本/🎉.bin',
  ...[43, 44, 45, 46, 47, 48].map((n) => seg(n, 'é')), // pax record of 93-103 bytes: 2 → 3 length digits
  ...[985, 988, 990, 991, 992, 993, 994, 996].map((n) => `${seg(101)}/${seg(n - 102)}`), // records of 992-1003 bytes
  `${seg(200)}/${seg(200)}/${seg(200)}/`,
];

async function packedSize(item: TarItem): Promise<number> {
  return (await buildTar([item])).length - TAR_END_SIZE;
}

describe('tar size prediction matches tar-stream pack byte for byte', () => {
  it.each(NAMES)('directory / file / symlink named %s', async (name) => {
    const dirName = name.endsWith('/') ? name : `${name}/`;
    expect(await packedSize({ header: { name: dirName, type: 'directory' } })).toBe(tarEntrySize(dirName, 0));
    for (const size of [0, 1, 511, 512, 513, 1500]) {
      const body = Buffer.alloc(size, 7);
      expect(await packedSize({ header: { name, type: 'file', size }, body })).toBe(tarEntrySize(name, size));
    }
  });

  it.each([
    ['target', 'short'],
    [seg(100), 'exactly 100'],
    [seg(101), 'over 100 → pax linkpath'],
    ['../ünï', 'non-ASCII but short'],
    [`../${seg(300)}`, 'long'],
  ])('symlink target %s (%s)', async (linkname) => {
    for (const name of ['root/link', `root/${seg(120)}`]) {
      const item: TarItem = { header: { name, type: 'symlink', linkname } };
      expect(await packedSize(item)).toBe(tarEntrySize(name, 0, linkname));
    }
  });

  it('a plain header is one block, a pax one at least three', () => {
    expect(tarHeaderSize('root/a')).toBe(512);
    expect(tarHeaderSize(`root/${seg(300)}`)).toBeGreaterThanOrEqual(1536);
  });
});
