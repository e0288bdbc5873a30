// Mutation testing of one core folder with Stryker (not part of CI: it takes minutes to an hour).
//   npm run mutate -- core/payload          (or core/reroute, core/transfer, core/redis, core/workflow, core/workflow/steps, core/routing, core/drain)
//   npm run mutate -- core/payload --dry    (print the Stryker command and the test files only)
//   npm run mutate -- core/payload --only rewrite-queue.ts,encode-json-string.ts   (some files of it)
//   npm run mutate -- core/reroute --tests test/unit/reroute/*.test.ts,test/redis/reroute/set-page.test.ts
//     (against these test files instead of the folder's own list: fewer tests, so a conservative
//     score; used to leave out tests that spawn and SIGKILL processes, see test/README.md)
// Each folder is checked against the tests that exercise it (below), not the whole suite, so that
// a run stays well under an hour on 2 cores; one Stryker worker at a time (the machine is shared).
// The score and the surviving mutants end up in reports/mutation/<folder>.{json,html}; the
// accepted survivors, with why each is equivalent, are listed in test/README.md.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The test files that cover each mutated folder. */
export const TESTS_BY_FOLDER: Readonly<Record<string, readonly string[]>> = {
  'core/payload': ['test/unit/payload/**/*.test.ts'],
  // The query compiler and router are pure: their unit tests cover them (query-properties.test.ts
  // is fast-check, about 2 s a run).
  'core/routing': ['test/unit/routing/*.test.ts'],
  // The verdict (judge-drain.ts) is pure: its unit tests; the report's counting needs Redis.
  'core/drain': ['test/unit/drain/*.test.ts', 'test/redis/drain/*.test.ts'],
  'core/reroute': ['test/unit/reroute/*.test.ts', 'test/redis/reroute/**/*.test.ts', 'test/redis/drain/*.test.ts', 'test/unit/routing/reverse-plan.test.ts', 'test/redis/lua-script.test.ts'],
  'core/transfer': ['test/unit/transfer/**/*.test.ts', 'test/unit/redis/key-name.test.ts', 'test/redis/transfer/**/*.test.ts'],
  'core/redis': [
    'test/unit/redis/*.test.ts',
    'test/redis/lua-guards.test.ts',
    'test/redis/lua-script.test.ts',
    'test/redis/run-lock.test.ts',
    'test/redis/lock-held-by-another.test.ts',
    'test/redis/connect-redis.test.ts',
    'test/redis/command-permissions.test.ts',
    'test/redis/sidekiq-prefixes.test.ts',
    'test/redis/stop-run.test.ts',
  ],
  // The steps called one by one against real Redis. The state machine and Lambda tests that also
  // run them (test/workflow/local-workflow.test.ts, test/functions/*) take minutes per mutant
  // (a 40,000-job item, connection timeouts, retry waits): left out, see test/README.md.
  'core/workflow/steps': ['test/redis/workflow-steps.test.ts', 'test/redis/stop-run.test.ts'],
  // The workflow's own helpers (set-apart.ts, ended-queues.ts, combine-summaries.ts, the tally):
  // their unit tests and the ended-queues record on real Redis. The CLI and local-workflow tests
  // that also cover them start whole runs (seconds to minutes per mutant): left out. Use --only.
  'core/workflow': ['test/unit/workflow/*.test.ts', 'test/redis/ended-queues.test.ts'],
};

const [folderArg, ...rest] = process.argv.slice(2);
const folder = folderArg?.replace(/\/+$/, '');
if (!folder || !(folder in TESTS_BY_FOLDER)) {
  process.stderr.write(`usage: npm run mutate -- <folder> [--only <files>] [--tests <globs>] [--dry]\n  folder: one of ${Object.keys(TESTS_BY_FOLDER).join(', ')}\n`);
  process.exit(2);
}
if (!existsSync(folder)) {
  process.stderr.write(`${folder}: no such folder\n`);
  process.exit(2);
}


const onlyAt = rest.indexOf('--only');
const only = onlyAt >= 0 ? (rest[onlyAt + 1] ?? '').split(',').filter(Boolean) : [];
for (const file of only) {
  if (!existsSync(`${folder}/${file}`)) {
    process.stderr.write(`--only: ${folder}/${file}: no such file\n`);
    process.exit(2);
  }
}
const testsAt = rest.indexOf('--tests');
const tests = testsAt >= 0 ? (rest[testsAt + 1] ?? '').split(',').filter(Boolean) : [...TESTS_BY_FOLDER[folder]!];
if (tests.length === 0) {
  process.stderr.write('--tests: give the test files (globs), comma-separated\n');
  process.exit(2);
}
const mutate = only.length > 0 ? only.map((f) => `${folder}/${f}`).join(',') : `${folder}/**/*.ts`;
const args = ['stryker', 'run', 'stryker.config.mjs', '--mutate', mutate];
const name = folder.replaceAll('/', '-') + (only.length > 0 ? `-${only.map((f) => f.replace(/\.ts$/, '').replaceAll('/', '-')).join('-')}` : '');
const env = { ...process.env, MUTATE_TEST_FILES: tests.join(','), MUTATE_REPORT: name };
process.stdout.write(`Mutating ${folder}/ against ${tests.join(', ')}\n  npx ${args.join(' ')}\n`);
if (rest.includes('--dry')) process.exit(0);
const run = spawnSync('npx', args, { stdio: 'inherit', env });
process.exit(run.status ?? 1);
