import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// The suite's configuration, restricted to the test files scripts/mutate.ts chose for the folder
// being mutated (MUTATE_TEST_FILES, comma-separated globs).
const files = (process.env['MUTATE_TEST_FILES'] ?? '').split(',').filter(Boolean);

export default defineConfig({
  ...base,
  // Instrumented code (every mutant behind a switch) is several times slower: a longer timeout,
  // so that the initial run does not fail a heavy test (a million nested arrays) by time alone.
  test: { ...base.test, include: files.length > 0 ? files : base.test!.include, testTimeout: 180_000, hookTimeout: 60_000 },
});
