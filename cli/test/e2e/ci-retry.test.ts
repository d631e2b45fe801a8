/**
 * The README's CI recipe, run as CI would run it: job scripts made of the README's own lines (the code derivation
 * and the two job commands), in sh, with the relay and the secret in the environment. Attempt 1 fails and burns its
 * code (a stray party with a wrong secret pairs with job A); its job B then gets NAMEPLATE_BURNED with a hint saying
 * what to do; attempt 2, as documented, derives a fresh code and succeeds while the old one is still burned.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, ROOT, runPortunus, useRelayWorld } from './harness.js';
import { portunusBinDir, runShell, type ShellProc } from './shell.js';

const world = useRelayWorld({ beforeAll, afterAll });
let bin: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  bin = await portunusBinDir();
});
afterAll(async () => {
  await bin.cleanup();
});

const SECRET = '7QK-P3M-X9D';

/** The lines of the README's CI block: how the code is derived, and each job's command. */
async function recipe(): Promise<{ code: string; send: string; receive: string }> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### For scripts and CI'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!.split('\n');
  const line = (start: string) => {
    const found = block.find((l) => l.startsWith(start));
    if (found === undefined) throw new Error(`no line starting '${start}' in the README's CI block`);
    return found;
  };
  return { code: line('export PORTUNUS_CODE='), send: line('portunus send '), receive: line('portunus receive ') };
}

interface Attempt {
  jobA: (cwd: string) => ShellProc;
  jobB: (cwd: string) => ShellProc;
}

async function attempt(n: number): Promise<Attempt> {
  const r = await recipe();
  const env = { PORTUNUS_RELAY: world.relay.url, PORTUNUS_SECRET: SECRET, GITHUB_RUN_ATTEMPT: String(n) };
  const job = (command: string) => (cwd: string) => runShell(`${r.code}\n${command}`, { binDir: bin.path, cwd, env });
  return { jobA: job(r.send), jobB: job(r.receive) };
}

const lastEvent = (p: ShellProc) => JSON.parse(p.stdout().trim().split('\n').at(-1)!) as Record<string, unknown>;

describe("the README's CI retry recipe", () => {
  it(
    'attempt 1 fails and burns its code; the documented retry (attempt 2) succeeds',
    { timeout: 120_000 },
    async () => {
      const a = join(world.tmp, 'job-a');
      const b1 = join(world.tmp, 'job-b-1');
      const b2 = join(world.tmp, 'job-b-2');
      for (const d of [a, b1, b2]) await mkdir(d, { recursive: true });
      const artifact = randomBytes(200_000);
      await writeFile(join(a, 'artifact.tgz'), artifact);

      const first = await attempt(1);
      const jobA1 = first.jobA(a);
      const code = (await jobA1.waitFor('stdout', /"code":"([^"]+)"/))[1]!;
      expect(code).toBe(`4201-${SECRET}`);
      const stray = runPortunus(['receive', '--json', '--yes', '--relay', world.relay.url, '4201-AAA-AAA-AAA'], {
        cwd: b1,
      });
      expect(await exitOf(stray)).toBe(3);
      expect(await jobA1.exit).toBe(3);
      const jobB1 = first.jobB(b1);
      expect(await jobB1.exit).toBe(3);
      expect(lastEvent(jobB1)).toMatchObject({
        event: 'error',
        error: 'NAMEPLATE_BURNED',
        exit: 3,
        hint: expect.stringMatching(
          /Use a new code; in CI, derive a fresh pre-agreed code per attempt, e\.g\. with the run attempt number/,
        ),
      });

      const second = await attempt(2);
      const jobB2 = second.jobB(b2);
      await jobB2.waitFor('stdout', /"event":"waiting"/);
      const jobA2 = second.jobA(a);
      expect([await jobA2.exit, await jobB2.exit]).toEqual([0, 0]);
      expect((await readFile(join(b2, 'artifact.tgz'))).equals(artifact)).toBe(true);
      expect(lastEvent(jobB2)).toMatchObject({ event: 'done', bytes: artifact.length });
    },
  );
});
