import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Compiles the CLI (tests that start bin/sidekiq-migrate.js run the bundle that ships), then
    // starts the throwaway redis-server processes the Redis tests share, and stops them by pid.
    globalSetup: ['test/support/build-cli-global-setup.ts', 'test/support/redis-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Redis tests share servers (each test uses its own key prefix); files run one at a time so
    // that timing-sensitive race tests do not compete with each other for the two cores.
    fileParallelism: false,
  },
});
