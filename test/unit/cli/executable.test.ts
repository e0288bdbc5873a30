import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CE_CATALOG, repoPath } from '../../support/paths.js';

// The real `sidekiq-migrate` executable (package.json "bin"), as `npx sidekiq-migrate` runs it:
// the compiled CLI in dist/ (built by the test run's global setup).
const bin = repoPath('bin/sidekiq-migrate.js');
const exec = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: '/' });

describe('the sidekiq-migrate executable', () => {
  it.each([[[]], [['routes']], [['match']]])('has --help on every command (%j)', (command) => {
    const result = exec(...command, '--help');

    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: sidekiq-migrate');
  });

  it('without a command: bad usage, exit 2, the usage on stderr (stdout, perhaps a file, gets nothing)', () => {
    const result = exec();

    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Usage: sidekiq-migrate \[options\] \[command\]\n/);
    expect(result.stderr).toContain('Commands:');
    expect(result.stderr).toContain('Exit codes: 0 success;');
  });

  it('says its exit codes in the top-level --help, as README lists them', () => {
    const result = exec('--help');

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      'Exit codes: 0 success; 1 the operation failed or did not finish (run it again to\nresume), or a cron rewrite or carry left sidekiq-cron definitions unread,\nunjudged or changed meanwhile; 2 bad usage or input (nothing was touched); 3\ndrain-check: jobs exist that nobody will run; 130 Ctrl-C quit at once (a second\none, or one while a run plans or in a dry run; the next run finishes what was in\nflight).\n',
    );
  });

  it('drain-check --help says every exit code it gives: STUCK is not 3 by itself, and a selection left is 1', () => {
    const result = exec('drain-check', '--help');

    expect(result.status).toBe(0);
    expect(result.stdout.replace(/\s+/g, ' ')).toContain('an enabled cron definition still pushes to one of them. A stuck verdict without such jobs (no progress since --previous, jobs still arriving on retired queues) exits 0. With a selection (--classes, --classes-file, --store), exit code 1 while any of their jobs is left here (3 still wins). With --retired-queues, an enabled cron definition whose queue cannot be known (a message it cannot read, or neither message nor queue field) is named and the check is not drained: exit code 1.');
  });

  it.each([['watch'], ['status']])('%s --help says it exits 1 over sidekiq-cron definitions a rewrite could not judge or found saved meanwhile, as over unread ones (the same verdict as run)', (command) => {
    const result = exec(command, '--help');

    expect(result.status).toBe(0);
    expect(result.stdout.replace(/\s+/g, ' ')).toContain('left sidekiq-cron definitions unread while asked to rewrite or carry them, or, rewriting, enabled ones it could not judge or that were saved by someone else between its read and its write');
  });

  it("rollback --help does not offer a quarantine a rollback never uses (every queue it takes jobs from is live)", () => {
    const result = exec('rollback', '--help');

    expect(result.status).toBe(0);
    expect(result.stdout.replace(/\s+/g, ' ')).toContain('--unmapped <what> as for run, but quarantine changes nothing here: every queue a rollback takes jobs from is live, so jobs it cannot put back stay there');
  });

  it('exits 0 with the JSON answer, and 2 on bad input', () => {
    const ok = exec('match', '--catalog', CE_CATALOG, '--query', 'urgency=throttled', '--json');
    const bad = exec('match', '--catalog', CE_CATALOG, '--query', 'weight=1');

    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toHaveLength(12);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe('Unknown predicate: weight\n');
  });

  it.each([
    [['run', '--redis', 'redis://127.0.0.1:1', '--rename', 'a=b', '--page-size', '20000'], '--page-size: the page size must be at most 10000\n'],
    [['list', '--limit', '500', '--region', 'us-east-1'], '--limit: the limit must be at most 100\n'],
    [['watch', 'x', '--interval', '99999', '--region', 'us-east-1'], '--interval: the interval must be at most 3600 seconds\n'],
    [['list', '--limit', 'many', '--region', 'us-east-1'], '--limit: the limit must be a whole number in decimal digits, not "many"\n'],
  ])('says a number above its bound is too large, not that it is not a number (%j)', (args, message) => {
    const result = exec(...args);

    expect(result.stderr).toBe(message);
    expect(result.status).toBe(2);
  });

  it.each([
    ['c.json', '{\n  "redis": "redis://127.0.0.1:1"\n  "namespace": "x"\n}\n', '(line 3, column 3): Missing , between flow map items'],
    ['c.yaml', 'redis: redis://127.0.0.1:1\nnamespace: a\nnamespace: b\n', '(line 3, column 1): Map keys must be unique'],
  ])('names the line and column of a syntax error in the configuration file (%s)', (name, text, where) => {
    const path = join(mkdtempSync(join(tmpdir(), 'sidekiq-migrate-config-')), name);
    writeFileSync(path, text);

    const result = exec('drain-check', '--config', path);

    expect(result.stderr).toBe(`The configuration file ${path} is not valid JSON or YAML ${where}\n`);
    expect(result.status).toBe(2);
  });

  it('loads the AWS SDK in the compiled deployed commands (no "… is not a constructor")', () => {
    // No region anywhere (an empty HOME: no ~/.aws/config): the SDK itself must get to say so.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    const home = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-home-'));
    const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: '/', env: { ...env, HOME: home } });

    for (const result of [run('list'), run('drain-check', '--deployed')]) {
      expect(result.stderr).not.toContain('is not a constructor');
      expect(result.stderr).toMatch(/: no AWS region: give --region, or set AWS_REGION/);
      expect(result.status).toBe(2);
    }
    // A state machine ARN says its region: the SDK gets as far as the (absent) credentials.
    const byArn = run('status', 'x', '--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:x');
    expect(byArn.stderr).not.toContain('is not a constructor');
    expect(byArn.stderr).toMatch(/^Finding the newest execution of run x \(it or a RUN-resume-N\): Describing execution arn:aws:states:us-east-1:123456789012:execution:x:x-resume-2: .*\. Check the AWS credentials and region this shell uses/);
    expect(byArn.status).toBe(2);
  });

  it.each([
    [['watch', 'x', '--interval', '0']],
    [['watch', 'x', '--interval', '-1']],
    [['stop', 'x', '--interval', '0']],
    [['start', '--rename', 'a=b', '--watch', '--interval', '0']],
  ])('refuses a polling interval of zero or less as bad input, before anything is asked of AWS (%j)', (args) => {
    // No credentials anywhere: a command that went on would say so instead.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    const home = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-home-'));
    const result = spawnSync(process.execPath, [bin, ...args, '--region', 'us-east-1'], { encoding: 'utf8', cwd: '/', env: { ...env, HOME: home } });

    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('--interval: the interval must be more than 0 seconds\n');
    expect(result.status).toBe(2);
  });

  // The execution's shape was checked only once the state machine was found: the stack's outputs
  // were read first, and a word no run id can be failed as whatever AWS said (exit 1 without
  // credentials or network), not as the typo it is.
  it.each([
    [['watch', 'my run']],
    [['status', 'my run']],
    [['stop', 'my run']],
    [['watch', '']],
    [['status', 'run/1']],
  ])('refuses an execution that is neither an ARN nor a run id as bad input, before anything is asked of AWS (%j)', (args) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    const home = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-home-'));
    const result = spawnSync(process.execPath, [bin, ...args, '--region', 'us-east-1'], { encoding: 'utf8', cwd: '/', env: { ...env, HOME: home } });

    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`${args[1] || '<execution>: empty'}: give an execution ARN or the run id it was started with\n`);
    expect(result.status).toBe(2);
  });

  it.each([
    [['run', '--redis', '', '--rename', 'a=b'], '--redis: required: the Redis URL, e.g. redis://localhost:6379/0 or rediss://…\n'],
    [['move', '--from', '', '--to', 'redis://127.0.0.1:1'], '--from: required: the old Redis URL (or its store name, with --redis-yml)\n'],
    [['drain-check', '--redis', ''], '--redis: empty: give the Redis URL, e.g. redis://localhost:6379/0 or rediss://…\n'],
  ])('says an empty URL once, in its own words (%j)', (args, message) => {
    const result = exec(...args);

    expect(result.stderr).toBe(message);
    expect(result.status).toBe(2);
  });

  it('says what is wrong with an empty new name in the configuration file\'s rename mapping', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sidekiq-migrate-config-')), 'c.yaml');
    writeFileSync(path, 'redis: redis://127.0.0.1:1\nrouting:\n  rename: {a: b, c: ""}\n');

    const result = exec('run', '--config', path, '--dry-run');

    expect(result.stderr).toBe(`${path}: routing.rename.c: the new queue name is empty (old: new)\n`);
    expect(result.status).toBe(2);
  });

  it('refuses a run that would look at nothing (--sets "" with --no-queues) rather than call it complete', () => {
    const result = exec('run', '--redis', 'redis://127.0.0.1:1', '--rename', 'a=b', '--sets', '', '--no-queues');

    expect(result.stderr).toBe('--sets: no set given and --no-queues: nothing would be looked at; name a set (schedule, retry, dead, interrupted) or leave out --no-queues\n');
    expect(result.status).toBe(2);
  });

  it('help for an unknown command names it and the commands there are, once, and exits 2 (it printed the whole usage)', () => {
    const result = exec('help', 'bogus');

    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      "Unknown command 'bogus'. The commands are: routes, match, run, move, rollback, demo, drain-check, start, watch, status, list, stop, help.\n",
    );
    expect(result.status).toBe(2);
  });

  it.each([[['help'], 'Commands:'], [['help', 'run'], 'Usage: sidekiq-migrate run [options]'], [['help', 'drain-check'], 'Usage: sidekiq-migrate drain-check [options]']])('help for a known command prints its usage on stdout and exits 0 (%j)', (args, usage) => {
    const result = exec(...args);

    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(usage);
    expect(result.status).toBe(0);
  });

  it('runs the TypeScript sources instead with SIDEKIQ_MIGRATE_FROM_SOURCE=1', () => {
    const result = spawnSync(process.execPath, [bin, 'match', '--catalog', CE_CATALOG, '--query', 'urgency=throttled', '--json'], {
      encoding: 'utf8',
      cwd: '/',
      env: { ...process.env, SIDEKIQ_MIGRATE_FROM_SOURCE: '1' },
    });

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toHaveLength(12);
  });
});
