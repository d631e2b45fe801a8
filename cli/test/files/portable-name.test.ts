/**
 * One name rule on every platform (PROTOCOL.md §4.4): a name Windows cannot create as an ordinary file is
 * refused as an offered name, as any component of a folder entry and of a link target, and skipped by senders.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PortunusError } from '@portunus/protocol';
import { checkEntryName, checkLinkTarget } from '../../src/files/entry-check.js';
import { NOT_PORTABLE_HINT, windowsNameProblem } from '../../src/files/portable-name.js';
import { safeComponentName } from '../../src/files/sanitize.js';
import { openSource } from '../../src/files/source.js';
import { collect, tempDir } from './fixtures.js';

const REFUSED: [string, string][] = [
  ['CON', 'device'],
  ['con', 'device'],
  ['Prn.txt', 'device'],
  ['aux.c', 'device'],
  ['NUL.tar.gz', 'device'],
  ['nul .txt', 'device'],
  ['COM0', 'device'],
  ['com1.log', 'device'],
  ['COM9', 'device'],
  ['COM\u00b9', 'device'],
  ['com\u00b2.txt', 'device'],
  ['LPT\u00b3', 'device'],
  ['lpt5', 'device'],
  ['CONIN$', 'device'],
  ['conout$.txt', 'device'],
  ['a<b', "'<'"],
  ['a>b', "'>'"],
  ['at 12:30.txt', "':'"],
  ['say "hi"', `'"'`],
  ['a|b', "'|'"],
  ['why?.pdf', "'?'"],
  ['*.txt', "'*'"],
  ['trailing.', 'ends with a dot or a space'],
  ['trailing ', 'ends with a dot or a space'],
  ['CON.', 'ends with a dot or a space'],
];

const ACCEPTED = [
  'CONSOLE',
  'com10',
  'LPT',
  'COM',
  'auxiliary.c',
  'nul_',
  'a.con',
  '.aux',
  'x.y',
  '..dots',
  'COM¹0',
  'con-txt',
  ' lead',
];

describe('windowsNameProblem', () => {
  it.each(REFUSED)('refuses %j (%s)', (name, why) => {
    expect(windowsNameProblem(name)).toContain(why);
  });

  it.each(ACCEPTED)('accepts %j', (name) => {
    expect(windowsNameProblem(name)).toBeUndefined();
  });
});

describe('the same rule for offered names, folder entries and link targets', () => {
  it.each(REFUSED)('%j is refused everywhere with UNSAFE_PATH and the same hint', (name) => {
    const offered = safeComponentName(name);
    const entry = checkEntryName(`photos/sub/${name}`, 'photos', 'file');
    const folder = checkEntryName(`photos/${name}/`, 'photos', 'directory');
    const top = checkEntryName(`${name}/`, name, 'directory');
    const link = checkLinkTarget('photos/l', `../${name}`, ['sub', 'l']);
    for (const err of [offered, entry, folder, top, link]) {
      expect(err).toBeInstanceOf(PortunusError);
      expect((err as PortunusError).code).toBe('UNSAFE_PATH');
      expect((err as PortunusError).hint).toBe(NOT_PORTABLE_HINT);
    }
  });

  it.each(ACCEPTED)('%j is accepted everywhere', (name) => {
    expect(safeComponentName(name)).toBe(name);
    expect(checkEntryName(`photos/${name}`, 'photos', 'file')).toEqual([name]);
    expect(checkLinkTarget('photos/l', name, ['l'])).toBeUndefined();
  });
});

describe('senders skip such names before connecting, saying why', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ path: dir, cleanup } = await tempDir('portable'));
  });
  afterEach(() => cleanup());

  it('a folder entry is skipped with a warning; a file offer fails with FILE_ERROR', async () => {
    const root = join(dir, 'proj');
    await mkdir(root);
    for (const name of ['aux.c', 'notes: draft.txt', 'kept.txt']) await writeFile(join(root, name), 'x');
    const warnings: string[] = [];
    const source = await openSource({ path: root }, { onWarning: (m) => warnings.push(m) });
    await collect(source.chunks(512));
    await source.close();
    expect(source.offer).toMatchObject({ kind: 'folder', files: 1 });
    expect(warnings).toHaveLength(2);
    expect(warnings.join('\n')).toMatch(/aux\.c.*AUX is a device name on Windows/);
    expect(warnings.join('\n')).toMatch(/notes: draft\.txt.*':'/);

    await expect(openSource({ path: join(root, 'aux.c') })).rejects.toMatchObject({ code: 'FILE_ERROR' });
  });
});
