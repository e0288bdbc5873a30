import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Compiles the CLI (tests that start bin/sidekiq-migrate.js run the bundle that ships), then
    // starts the throwaway redis-server processes the Redis tests share, and stops them by pid.
    globalSetup: ['test/support/build-cli-global-setup.ts', 'test/support/redis-global-setup.ts'],
    // Time a test or hook may take before it counts as hung, not a bound any assertion rests on
    // (tests that bound the product's time measure it themselves). On 2 loaded cores, a file's
    // beforeAll that cold-starts the Lambda handlers (transforming and importing them) or seeds
    // millions of keys outlasted 30 s (load 25: drain-check-handler, workflow-handlers,
    // drain-check-metric-period, summarize-selected-arrivals-bound), and its tests were all lost.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Redis tests share servers (each test uses its own key prefix); files run one at a time so
    // that timing-sensitive race tests do not compete with each other for the two cores.
    fileParallelism: false,
  },
});
