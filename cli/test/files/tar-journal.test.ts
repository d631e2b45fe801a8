/**
 * The journal gathers its records and writes them at the next checkpoint (or every 64 KiB), one write instead of one
 * per entry (issue #18, many small files): what a checkpoint counts is read back in full and in order, what came
 * after it is not, and a record never lands over another.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJournal, TarJournal, type JournalEntry } from '../../src/files/tar-journal.js';
import { stateOf } from '../../src/files/temp-path.js';
import { tempDir } from './fixtures.js';

const identity = { target: '/t/x', offer: 'offer', size: 1 << 30 };

const entry = (i: number): JournalEntry => ({
  name: `d/f${i}.dat`,
  kind: 'file',
  parts: ['d', `f${i}.dat`],
  start: i * 1024,
  size: 512,
  meta: new Uint8Array(512).fill(i & 255),
});

describe('TarJournal', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let part: string;
  beforeEach(async () => {
    dir = await tempDir('journal');
    part = join(dir.path, '.x.part');
    await mkdir(part);
  });
  afterEach(() => dir.cleanup());

  it('a checkpoint counts every record appended before it, in order, whatever was written when', async () => {
    const journal = await TarJournal.create(part, identity);
    // 300 records of ~800 bytes: several 64 KiB writes on the way, and the rest at the checkpoint.
    for (let i = 0; i < 300; i++) await journal.append(entry(i));
    await journal.checkpoint(300 * 1024, journal.written);
    for (let i = 300; i < 310; i++) await journal.append(entry(i));
    await journal.close();
    const read = await readJournal(stateOf(part));
    expect(read?.bytes).toBe(300 * 1024);
    expect(read?.entries.map((e) => e.name)).toEqual(Array.from({ length: 300 }, (_, i) => `d/f${i}.dat`));
    expect(read?.entries[299]?.meta).toEqual(entry(299).meta);
  });

  it('a second checkpoint counts the records after the first', async () => {
    const journal = await TarJournal.create(part, identity);
    for (let i = 0; i < 5; i++) await journal.append(entry(i));
    await journal.checkpoint(5 * 1024, journal.written);
    for (let i = 5; i < 12; i++) await journal.append(entry(i));
    await journal.checkpoint(12 * 1024, journal.written);
    await journal.close();
    const read = await readJournal(stateOf(part));
    expect(read?.entries.map((e) => e.start)).toEqual(Array.from({ length: 12 }, (_, i) => i * 1024));
  });

  it('reset forgets the records not yet written too', async () => {
    const journal = await TarJournal.create(part, identity);
    for (let i = 0; i < 3; i++) await journal.append(entry(i));
    await journal.reset();
    await journal.append(entry(7));
    await journal.checkpoint(8 * 1024, journal.written);
    await journal.close();
    expect((await readJournal(stateOf(part)))?.entries.map((e) => e.name)).toEqual(['d/f7.dat']);
  });
});
