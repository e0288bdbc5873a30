// Stryker's configuration. Run it through `npm run mutate -- <folder>` (scripts/mutate.ts), which
// sets --mutate to the folder and MUTATE_TEST_FILES to the tests that cover it (read by
// vitest.mutate.config.ts), and names the reports after the folder (MUTATE_REPORT).
const report = process.env.MUTATE_REPORT ?? 'mutation';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.mutate.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  // Mutants in module-level constants run every test again for each: skipped to keep a run short.
  ignoreStatic: true,
  incremental: true,
  incrementalFile: `reports/mutation/${report}.incremental.json`,
  // One worker: the machine is shared (see the guide); raise it with MUTATE_CONCURRENCY.
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  // A mutant that loops forever (common in a lexer) costs this much beyond the normal time: kept short.
  timeoutMS: 5_000,
  timeoutFactor: 3,
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${report}.json` },
  htmlReporter: { fileName: `reports/mutation/${report}.html` },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['cdk.out', 'coverage', 'reports', '.stryker-tmp', 'bench', 'examples', 'docs'],
};
