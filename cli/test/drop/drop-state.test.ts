/** Drop states (drop-state.ts): owner-only files, never taken from a live process, claimed from a dead one. */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DropStates } from '../../src/drop/drop-state.js';
import { dropStateDir } from '../../src/drop/state-dir.js';
import { parseDuration, formatDuration } from '../../src/drop/duration.js';

let dir: string;
const id = '0123456789abcdef0123456789abcdef';
const lease = 'ab'.repeat(16);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portunus-drop-state-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('DropStates', () => {
  it('lives in XDG_STATE_HOME, else ~/.local/state', () => {
    expect(dropStateDir({ XDG_STATE_HOME: '/s' })).toBe('/s/portunus/drops');
    expect(dropStateDir({ HOME: '/h' })).toBe('/h/.local/state/portunus/drops');
    expect(dropStateDir({ XDG_STATE_HOME: 'relative' })).toBeUndefined();
  });

  it('writes owner-only files, reads back its own, and removes them', async () => {
    const states = new DropStates(join(dir, 'a'));
    await states.saveLease(id, { lease, prologue: '00ff' });
    const [file] = await readdir(join(dir, 'a'));
    expect((await stat(join(dir, 'a', file!))).mode & 0o777).toBe(0o600);
    expect(await states.loadLease(id)).toEqual({ lease, prologue: '00ff' });
    await states.removeLease(id);
    expect(await readdir(join(dir, 'a'))).toEqual([]);
  });

  it("takes over a dead process's state, never a live one's", async () => {
    const folder = join(dir, 'b');
    const states = new DropStates(folder);
    await states.saveLease(id, { lease });
    const [mine] = await readdir(folder);
    // The same state under the name of a live process (this test's parent), then of one that has exited.
    const live = mine!.replace(/-\d+\.json$/, `-${process.ppid}.json`);
    await rename(join(folder, mine!), join(folder, live));
    expect(await states.loadLease(id)).toBeUndefined();
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    await rename(join(folder, live), join(folder, live.replace(/-\d+\.json$/, `-${gone}.json`)));
    expect(await states.loadLease(id)).toEqual({ lease });
    expect(await readdir(folder)).toEqual([mine]);
  });
});

describe('--expire durations', () => {
  it('take s, m, h, d or plain seconds, from 1 s to 7 days', () => {
    expect(parseDuration('24h', '--expire')).toBe(86_400);
    expect(parseDuration('90', '--expire')).toBe(90);
    expect(parseDuration('7d', '--expire')).toBe(604_800);
    for (const bad of ['0', '8d', '1w', '-1h', '']) expect(() => parseDuration(bad, '--expire')).toThrow(/--expire/);
    expect(formatDuration(86_400)).toBe('1 day');
    expect(formatDuration(7200)).toBe('2 hours');
    expect(formatDuration(61)).toBe('61 seconds');
  });
});
