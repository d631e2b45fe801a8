/** Runs a Node process with startup/probe.cjs preloaded and returns its report (start-up tests, issue #18). */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ROOT } from '../e2e/harness.js';

export const PROBE = join(ROOT, 'cli/test/startup/probe.cjs');

interface ProbeReport {
  builtins: string[];
  required: string[];
  cacheGiven: boolean;
  cacheRejected: boolean | null;
}

/** Runs `node --require probe <args>` and returns what the probe wrote to fd 3. */
export function probe(args: string[]): ProbeReport {
  const run = spawnSync(process.execPath, ['--require', PROBE, ...args], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.output[3] as string) as ProbeReport;
}
