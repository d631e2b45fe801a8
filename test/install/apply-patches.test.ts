/**
 * cli/scripts/apply-patches.cjs, the postinstall, in the layout npm makes when portunus is installed as a dependency
 * (`npx portunus-cli`): werift hoisted beside portunus, not inside it. Plain `patch-package` there reported werift
 * missing and, with CI=true, exited 1 and failed the user's install.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const repo = resolve(__dirname, '../..');
const MARKER = /patch\(/g;

let app: string;
const weriftBundle = () => join(app, 'node_modules/werift/lib/index.mjs');
const markers = () => (readFileSync(weriftBundle(), 'utf8').match(MARKER) ?? []).length;

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, args, {
    cwd: app,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', ...env },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
const postinstall = () => run([join(app, 'node_modules/portunus-cli/scripts/apply-patches.cjs')]);

beforeEach(() => {
  app = mkdtempSync(join(tmpdir(), 'portunus-install-'));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'someone-elses-app', version: '1.0.0' }));
  mkdirSync(join(app, 'node_modules/werift/lib'), { recursive: true });
  cpSync(join(repo, 'node_modules/werift/package.json'), join(app, 'node_modules/werift/package.json'));
  cpSync(join(repo, 'node_modules/werift/lib/index.mjs'), weriftBundle());
  // patch-package's own dependencies resolve from its real path, the repository's node_modules.
  symlinkSync(join(repo, 'node_modules/patch-package'), join(app, 'node_modules/patch-package'));
  mkdirSync(join(app, 'node_modules/portunus-cli/scripts'), { recursive: true });
  cpSync(join(repo, 'cli/scripts/apply-patches.cjs'), join(app, 'node_modules/portunus-cli/scripts/apply-patches.cjs'));
  cpSync(join(repo, 'cli/patches'), join(app, 'node_modules/portunus-cli/patches'), { recursive: true });
  writeFileSync(
    join(app, 'node_modules/portunus-cli/package.json'),
    JSON.stringify({ name: 'portunus-cli', version: '0.1.0' }),
  );
});

afterEach(() => rmSync(app, { recursive: true, force: true }));

describe('postinstall (cli/scripts/apply-patches.cjs)', () => {
  it('patches a werift hoisted beside portunus, with CI=true', () => {
    // The repository's werift is patched already: undo that to start from werift as published.
    const reverse = run([
      join(app, 'node_modules/patch-package/index.js'),
      '--reverse',
      '--patch-dir',
      'node_modules/portunus-cli/patches',
    ]);
    expect(reverse.status, reverse.out).toBe(0);
    expect(markers()).toBe(0);

    const r = postinstall();
    expect(r.status, r.out).toBe(0);
    expect(markers()).toBeGreaterThanOrEqual(8);
    // A second install finds the patch applied and leaves the file alone.
    const before = readFileSync(weriftBundle(), 'utf8');
    expect(postinstall().status).toBe(0);
    expect(readFileSync(weriftBundle(), 'utf8')).toBe(before);
  });

  it('never fails the install when the patch cannot apply: a note, and werift left as it was', () => {
    writeFileSync(weriftBundle(), 'export const somethingElse = 1;\n');
    const r = postinstall();
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/werift patch set did not apply/);
    expect(readFileSync(weriftBundle(), 'utf8')).toBe('export const somethingElse = 1;\n');
  });

  it('never fails the install when werift is absent', () => {
    rmSync(join(app, 'node_modules/werift'), { recursive: true });
    const r = postinstall();
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/werift is not installed/);
  });
});
