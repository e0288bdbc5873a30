import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { CE_CATALOG, repoPath } from '../support/paths.js';
import { refusedUntouched } from '../support/refused-untouched.js';
import { runCli } from '../support/run-cli.js';

// The bad-input sweep (cli-bad-input-sweep.test.ts) over `routes`, `match` and `rollback`, option
// by option (audit-badinput): each case one message naming what and where, exit 2, nothing touched.
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-bad-input-routing-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const GITLAB_YML = repoPath('test/fixtures/routing/gitlab-anchors.yml');
const RULES = repoPath('test/fixtures/routing/rules.json');

const untouched = (run: Parameters<typeof refusedUntouched>[1]) => refusedUntouched(redis, run);

describe('bad input to routes, match and rollback: one message naming what and where, exit 2, nothing touched', { timeout: 120_000 }, () => {
  // A blank section was taken, and said as the rules file's problem, the blanks invisible:
  // "gitlab-anchors.yml: expected … or a gitlab.yml with   .sidekiq.routing_rules".
  it('a blank --environment (or routing.environment) is refused naming the option', async () => {
    const url = redis.urls().source;
    const routes = await untouched(() => runCli('routes', '--catalog', CE_CATALOG, '--rules', GITLAB_YML, '--environment', '  '));
    const run = await untouched(() => runCli('run', '--redis', url, '--catalog', CE_CATALOG, '--rules', GITLAB_YML, '--environment', '\t'));
    const config = file('blank-environment.yml', `redis: ${url}\nrouting:\n  catalog: ${CE_CATALOG}\n  rules: ${GITLAB_YML}\n  environment: "  "\n`);
    const inFile = await untouched(() => runCli('--config', config, 'run'));

    expect(routes.stderr).toBe('--environment: a gitlab.yml section (e.g. production) cannot be blank\n');
    expect(run.stderr).toBe('--environment: a gitlab.yml section (e.g. production) cannot be blank\n');
    expect(inFile.stderr).toBe(`${config}: routing.environment: a gitlab.yml section, e.g. production, not blank\n`);
  });

  // A section asked for of a rules file that is a plain list (no gitlab.yml sections) was ignored,
  // without a word, by routes, run, move, start and drain-check: the user believed the rules read
  // from staging (audit-envignored).
  it('--environment typed with a plain-list rules file is refused naming both; the configuration file\'s routing.environment is not', async () => {
    const url = redis.urls().source;
    const typed = `--environment staging: ${RULES} is a plain list of routing rules, with no gitlab.yml sections to pick from: leave --environment out, or give the gitlab.yml\n`;
    const routes = await untouched(() => runCli('routes', '--catalog', CE_CATALOG, '--rules', RULES, '--environment', 'staging'));
    const run = await untouched(() => runCli('run', '--redis', url, '--catalog', CE_CATALOG, '--rules', RULES, '--environment', 'staging'));
    const move = await untouched(() => runCli('move', '--from', url, '--to', redis.urls().target, '--catalog', CE_CATALOG, '--rules', RULES, '--environment', 'staging'));
    const start = await untouched(() => runCli('start', '--catalog', CE_CATALOG, '--rules', RULES, '--environment', 'staging', '--state-machine', 'arn:aws:states:eu-west-1:123456789012:stateMachine:SidekiqMigrate'));
    const drainCheck = await untouched(() => runCli('drain-check', '--redis', url, '--catalog', CE_CATALOG, '--rules', RULES, '--environment', 'staging', '--classes', 'PostReceive'));
    const config = file('plain-list-environment.yml', `redis: ${url}\nrouting:\n  catalog: ${CE_CATALOG}\n  rules: ${RULES}\n  environment: staging\n`);
    // The configuration file serves several commands (move --redis-yml reads its section): not refused.
    const inFile = await runCli('--config', config, 'run', '--dry-run');

    for (const refused of [routes, run, move, start, drainCheck]) expect(refused.stderr).toBe(typed);
    expect(inFile.code).toBe(0);
    expect(inFile.stderr).not.toContain('plain list');
  });

  // The same catalog twice (typed again for the EE one, or `./x` and `x`) was said as a class in two
  // catalogs: "ActivityPub::…Worker appears twice: all_queues.yml entry 1 and all_queues.yml entry 1".
  it('a catalog given twice is said as such', async () => {
    const other = relative(process.cwd(), CE_CATALOG);
    const words = `The worker catalog ${other} is given twice (as ${CE_CATALOG} too): give each catalog once (GitLab's app/workers/all_queues.yml, and ee/app/workers/all_queues.yml for EE)\n`;
    const routes = await untouched(() => runCli('routes', '--catalog', CE_CATALOG, '--catalog', other, '--rules', RULES));
    const match = await untouched(() => runCli('match', '--catalog', CE_CATALOG, '--catalog', CE_CATALOG, '--query', '*'));
    const run = await untouched(() => runCli('run', '--redis', redis.urls().source, '--catalog', CE_CATALOG, '--catalog', other, '--rules', RULES));

    expect(routes.stderr).toBe(words);
    expect(match.stderr).toBe(`The worker catalog ${CE_CATALOG} is given twice: give each catalog once (GitLab's app/workers/all_queues.yml, and ee/app/workers/all_queues.yml for EE)\n`);
    expect(run.stderr).toBe(words);
  });

  // A blank run id was said unquoted, the value invisible: "RUN: not a run id: use 1–80 letters…".
  it('a run id that is no run id (RUN or --run-id) is said with the value quoted', async () => {
    const url = redis.urls().source;
    const rollback = await untouched(() => runCli('rollback', ' ', '--redis', url));
    const runId = await untouched(() => runCli('rollback', 'reroute-1', '--run-id', ' ', '--redis', url));
    const run = await untouched(() => runCli('run', '--redis', url, '--catalog', CE_CATALOG, '--rules', RULES, '--run-id', 'a b'));

    expect(rollback.stderr).toBe('RUN: " " is not a run id: use 1–80 letters, digits, "_", "." or "-"\n');
    expect(runId.stderr).toBe('--run-id: " " is not a run id: use 1–80 letters, digits, "_", "." or "-"\n');
    expect(run.stderr).toBe('--run-id: "a b" is not a run id: use 1–80 letters, digits, "_", "." or "-"\n');
  });
});
