import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Tiers (see ../shared/style.md §13): unit has no I/O; integration starts real Azurite and the dev/ emulator;
// e2e drives the local host with skopeo-pushed images. `npm test` runs all three.
export default defineConfig({
  test: {
    // Vitest's default is one worker per core less one: a single worker on CI's 2 cores, so the e2e and chaos files,
    // which mostly wait on child processes (hosts, Azurite, the emulator) and real timers, ran one after another.
    // Two at a time: `npm test` 5 min instead of 8.5 min there (docs/benchmarks.md § Test suite).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 10_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/azurite-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/azurite-global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Crashes and upstream faults (issue #9): the chaos runner starts its own persistent Azurite; the global
        // setup is kept like e2e's for tests that want the shared one.
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          globalSetup: ['test/support/azurite-global-setup.ts'],
          testTimeout: 280_000,
          hookTimeout: 280_000,
        },
      },
    ],
  },
});
