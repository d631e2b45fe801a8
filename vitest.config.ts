import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'relay/test/**/*.test.ts', 'cli/test/**/*.test.ts', 'test/**/*.test.ts'],
    // Hang detectors, not speed limits: a test that waits on events takes as long as the machine needs. Process-spawning
    // tests took up to 40 s with the machine ten times oversubscribed (npm run test:loaded beside other work); the
    // bounds inside tests stay below these, so a hang reports what it was waiting for.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Process-spawning end-to-end tests compete for 2 cores; keep parallelism modest.
    maxWorkers: 2,
  },
});
